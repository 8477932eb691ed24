// In-batch retrieval accuracy used for validation during training: for each image (row of the
// similarity matrix), is its own report (the diagonal) ranked within the top k?

/** sim is row-major [n, n]; returns the fraction of rows whose diagonal entry ranks < k. Ties count against. */
export function inBatchTopK(sim: Float32Array | number[], n: number, k: number): number {
  let hits = 0;
  for (let i = 0; i < n; i++) {
    const own = sim[i * n + i];
    let better = 0;
    for (let j = 0; j < n; j++) if (j !== i && sim[i * n + j] >= own) better++;
    if (better < k) hits++;
  }
  return n > 0 ? hits / n : 0;
}

/** The same for columns (text -> image). */
export function inBatchTopKColumns(sim: Float32Array | number[], n: number, k: number): number {
  const t = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = sim[i * n + j];
  return inBatchTopK(t, n, k);
}

// Plain-JS reference computations (explicit loops over arrays) used to check the tensor code.
export type Vec = number[];
export type Mat = number[][];

export const dot = (a: Vec, b: Vec): number => a.reduce((s, x, i) => s + x * b[i], 0);
export const norm = (a: Vec): number => Math.sqrt(dot(a, a));
export const cos = (a: Vec, b: Vec): number => dot(a, b) / Math.sqrt(dot(a, a) * dot(b, b) + 0);
export const l2n = (a: Vec): Vec => {
  const n = Math.sqrt(dot(a, a) + 1e-8);
  return a.map((x) => x / n);
};

/** Softmax over the entries where mask is 1 (others get 0). */
export function softmax(x: Vec, mask?: Vec): Vec {
  const idx = x.map((_, i) => i).filter((i) => !mask || mask[i] > 0);
  const mx = Math.max(...idx.map((i) => x[i]));
  const out = x.map(() => 0);
  let s = 0;
  for (const i of idx) s += out[i] = Math.exp(x[i] - mx);
  for (const i of idx) out[i] /= s;
  return out;
}

export function logSumExp(x: Vec, mask?: Vec): number {
  const idx = x.map((_, i) => i).filter((i) => !mask || mask[i] > 0);
  const mx = Math.max(...idx.map((i) => x[i]));
  return mx + Math.log(idx.reduce((s, i) => s + Math.exp(x[i] - mx), 0));
}

/** x [in] times W [in][out] (TF layout). */
export function vecMat(x: Vec, w: Mat): Vec {
  const out = new Array(w[0].length).fill(0);
  for (let i = 0; i < x.length; i++) for (let o = 0; o < out.length; o++) out[o] += x[i] * w[i][o];
  return out;
}

/** Mean over rows of -log softmax(row)[i]. */
export function diagCE(s: Mat): number {
  let t = 0;
  for (let i = 0; i < s.length; i++) t += logSumExp(s[i]) - s[i][i];
  return t / s.length;
}

export const transpose = (s: Mat): Mat => s[0].map((_, j) => s.map((row) => row[j]));

/** GLoRIA attention_fn for one (report words, image regions) pair, masked to real words. */
export function gloriaPair(words: Mat, regions: Mat, mask: Vec, gamma1: number, gamma2: number) {
  const n = words.length;
  const m = regions.length;
  // softmax over words, separately for each region
  const overWords: Mat = Array.from({ length: n }, () => new Array(m).fill(0));
  for (let j = 0; j < m; j++) {
    const col = softmax(words.map((e) => dot(e, regions[j])), mask);
    for (let i = 0; i < n; i++) overWords[i][j] = col[i];
  }
  const attn = overWords.map((row) => softmax(row.map((x) => gamma1 * x)));
  const ctx = attn.map((a) => regions[0].map((_, d) => a.reduce((s, aj, j) => s + aj * regions[j][d], 0)));
  const r = words.map((e, i) => cos(e, ctx[i]));
  const z = logSumExp(r.map((x) => gamma2 * x), mask);
  return { attn, ctx, r, z };
}

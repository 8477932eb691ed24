// Layout of the SRM relation graph. Words sit on a circle in reading order (so neighbouring
// words stay neighbours and the report can be "read" around the ring); only each word's
// strongest relations are drawn, which keeps 60-100+ word reports legible.

export interface NodePos { x: number; y: number; /** radians, 0 = east, clockwise on screen */ angle: number }
export interface Edge { a: number; b: number; w: number }

/** n nodes evenly on a circle, starting at 12 o'clock and going clockwise. */
export function circularLayout(n: number, cx: number, cy: number, r: number): NodePos[] {
  const out: NodePos[] = [];
  for (let i = 0; i < n; i++) {
    const angle = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, n);
    out.push({ x: cx + r * Math.cos(angle), y: cy + r * Math.sin(angle), angle });
  }
  return out;
}

/**
 * The union over nodes of each node's k strongest relations (self-relations excluded), as
 * undirected edges weighted by the larger of the two directions. Weights below `minWeight`
 * times the matrix maximum are dropped. Sorted by weight ascending so strong edges paint last.
 */
export function topKEdges(relation: ArrayLike<number>, n: number, k: number, minWeight = 0): Edge[] {
  if (relation.length !== n * n) throw new Error(`relation has ${relation.length} values, expected ${n}*${n}`);
  let max = 0;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j && relation[i * n + j] > max) max = relation[i * n + j];
  const floor = minWeight * max;
  const keep = new Map<number, Edge>();
  const idx: number[] = [];
  for (let i = 0; i < n; i++) {
    idx.length = 0;
    for (let j = 0; j < n; j++) if (j !== i) idx.push(j);
    idx.sort((p, q) => relation[i * n + q] - relation[i * n + p] || p - q);
    for (const j of idx.slice(0, k)) {
      const w = Math.max(relation[i * n + j], relation[j * n + i]);
      if (!(w > floor) || w <= 0) continue;
      const a = Math.min(i, j);
      const b = Math.max(i, j);
      keep.set(a * n + b, { a, b, w });
    }
  }
  return [...keep.values()].sort((p, q) => p.w - q.w || p.a - q.a || p.b - q.b);
}

/** The k words most related to word i (by its own row), strongest first. */
export function topRelated(relation: ArrayLike<number>, n: number, i: number, k: number): Array<{ index: number; w: number }> {
  const out: Array<{ index: number; w: number }> = [];
  for (let j = 0; j < n; j++) if (j !== i) out.push({ index: j, w: relation[i * n + j] });
  out.sort((p, q) => q.w - p.w || p.index - q.index);
  return out.slice(0, k);
}

/**
 * SVG path of a chord between two nodes: a quadratic curve pulled towards the centre, more for
 * nodes far apart on the ring, so chords between distant words don't all cross at one point.
 */
export function chordPath(p: NodePos, q: NodePos, cx: number, cy: number): string {
  let d = Math.abs(p.angle - q.angle);
  if (d > Math.PI) d = 2 * Math.PI - d;
  const pull = 0.25 + 0.75 * (d / Math.PI);
  const mx = (p.x + q.x) / 2;
  const my = (p.y + q.y) / 2;
  const c1 = mx + (cx - mx) * pull;
  const c2 = my + (cy - my) * pull;
  const f = (v: number): string => v.toFixed(1);
  return `M${f(p.x)},${f(p.y)} Q${f(c1)},${f(c2)} ${f(q.x)},${f(q.y)}`;
}

/**
 * The words labelled permanently: taken by importance (`order`, most important first), each kept
 * only if its label is at least `minArc` (viewBox units along the ring of radius `r`) from every
 * label already kept, at most `max` of them. Radial labels of neighbours closer than one line
 * height overlap; this keeps a ring of any size readable (the others show on hover/selection).
 */
export function spacedLabels(order: readonly number[], pos: readonly NodePos[], r: number, minArc: number, max: number): Set<number> {
  const kept: number[] = [];
  const minAngle = minArc / Math.max(r, 1e-9);
  for (const i of order) {
    if (kept.length >= max) break;
    const a = pos[i].angle;
    const clear = kept.every((j) => {
      let d = Math.abs(a - pos[j].angle) % (2 * Math.PI);
      if (d > Math.PI) d = 2 * Math.PI - d;
      return d >= minAngle - 1e-9;
    });
    if (clear) kept.push(i);
  }
  return new Set(kept);
}

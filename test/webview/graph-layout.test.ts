import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chordPath, circularLayout, spacedLabels, topKEdges, topRelated } from '../../webview/graph-layout';

test('circularLayout puts word 0 at 12 o\'clock and goes clockwise, evenly', () => {
  const pos = circularLayout(4, 100, 100, 50);
  const r = (v: number): number => Math.round(v * 1e6) / 1e6;
  assert.deepEqual(pos.map((p) => [r(p.x), r(p.y)]), [[100, 50], [150, 100], [100, 150], [50, 100]]);
  const many = circularLayout(100, 0, 0, 10);
  for (const p of many) assert.ok(Math.abs(Math.hypot(p.x, p.y) - 10) < 1e-9);
});

test('topKEdges keeps each node\'s k strongest relations, undirected and deduplicated', () => {
  // 4 words; row i lists relations from i.
  const rel = new Float32Array([
    9, 0.5, 0.3, 0.2,
    0.5, 9, 0.1, 0.4,
    0.3, 0.1, 9, 0.6,
    0.2, 0.4, 0.6, 9,
  ]);
  const e1 = topKEdges(rel, 4, 1);
  // 0->1, 1->0, 2->3, 3->2: two undirected edges; self-relations never count.
  assert.deepEqual(e1.map((e) => [e.a, e.b]), [[0, 1], [2, 3]]);
  const e2 = topKEdges(rel, 4, 2);
  assert.deepEqual(e2.map((e) => [e.a, e.b, +e.w.toFixed(2)]), [[0, 2, 0.3], [1, 3, 0.4], [0, 1, 0.5], [2, 3, 0.6]]);
  // minWeight drops edges below that fraction of the strongest off-diagonal relation.
  assert.deepEqual(topKEdges(rel, 4, 2, 0.6).map((e) => [e.a, e.b]), [[1, 3], [0, 1], [2, 3]]);
  assert.throws(() => topKEdges(rel, 3, 1), /expected 3\*3/);
});

test('topKEdges stays sparse for a 100-word report', () => {
  const n = 100;
  const rel = new Float32Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) rel[i * n + j] = 1 / (1 + Math.abs(i - j)) + ((i * 7 + j * 13) % 17) / 1000;
  const edges = topKEdges(rel, n, 3);
  assert.ok(edges.length <= 3 * n && edges.length >= n, `${edges.length}`);
  for (let k = 1; k < edges.length; k++) assert.ok(edges[k].w >= edges[k - 1].w);
});

test('topRelated ranks a word\'s own row, excluding itself', () => {
  const rel = new Float32Array([1, 0.2, 0.7, 0.1, 1, 0.3, 0.5, 0.5, 1]);
  assert.deepEqual(topRelated(rel, 3, 0, 2), [{ index: 2, w: rel[2] }, { index: 1, w: rel[1] }]);
  assert.deepEqual(topRelated(rel, 3, 2, 5).map((r) => r.index), [0, 1]);
});

test('chordPath is a quadratic curve between the two nodes', () => {
  const [p, q] = circularLayout(2, 50, 50, 40);
  assert.match(chordPath(p, q, 50, 50), /^M50\.0,10\.0 Q50\.0,50\.0 50\.0,90\.0$/);
});

test('spacedLabels keeps the most important words whose labels do not overlap on the ring', () => {
  // 40 words on a ring of radius 90: 14.1 units of arc between neighbours.
  const n = 40;
  const r = 90;
  const pos = circularLayout(n, 0, 0, r);
  const order = Array.from({ length: n }, (_, i) => i);
  // Neighbours are 14.1 apart: with 16 needed, no two neighbours are both labelled.
  const kept = spacedLabels(order, pos, r, 16, 100);
  assert.ok(kept.has(0), 'the most important word is always labelled');
  for (const i of kept) assert.ok(!kept.has((i + 1) % n), `${i} and ${(i + 1) % n} both labelled`);
  assert.equal(kept.size, 20);
  // Importance decides who gets the slot: word 5 first, so 4 and 6 stay unlabelled.
  const k2 = spacedLabels([5, 4, 6, 0], pos, r, 16, 100);
  assert.deepEqual([...k2].sort((a, b) => a - b), [0, 5]);
  // The cap applies, and with room to spare everyone is labelled.
  assert.equal(spacedLabels(order, pos, r, 16, 3).size, 3);
  assert.equal(spacedLabels(order, pos, r, 10, 100).size, n);
});

// The SRM relation graph of one report: words on a ring in reading order, chords for each
// word's strongest relations (width = relation weight), the selected word's chords and
// neighbours highlighted. Rendered once per payload; selection only toggles classes.
import { circularLayout, chordPath, spacedLabels, topKEdges, type Edge } from './graph-layout';
import { paletteColor, rgbCss, type PaletteName } from './colormap';
import { el, svg } from './dom';
import type { ExplainWord } from '../src/protocol/explain';

export interface RelationGraphView {
  readonly root: HTMLElement;
  setData(words: ExplainWord[], relation: Float32Array, importance: Float32Array, palette: PaletteName): void;
  select(index: number): void;
}

const EDGES_PER_NODE = 3;
const MAX_LABEL = 12;
/** Arc length per word on the ring (viewBox px); the SVG scales to the panel width. */
const ARC_PER_WORD = 8;
/**
 * Arc between two permanent labels (viewBox px): one line of the largest label font (14px in a
 * narrow side bar, styles.css) plus a gap, so labels never overlap at any panel width.
 */
const LABEL_ARC = 16;

export function createRelationGraph(onSelect: (i: number) => void): RelationGraphView {
  const host = el('div', { class: 'graph-wrap' });
  const note = el('p', { class: 'hint' });
  const root = el('div', { class: 'relation-graph' }, host, note);
  let nodeEls: SVGGElement[] = [];
  let edgeEls: SVGPathElement[] = [];
  let incident: number[][] = [];
  let edges: Edge[] = [];
  let edgeLayer: SVGGElement = svg('g');
  let selected = -1;

  const clearSel = (): void => {
    if (selected < 0) return;
    nodeEls[selected]?.classList.remove('selected');
    for (const e of incident[selected] ?? []) {
      edgeEls[e].classList.remove('hl');
      nodeEls[edges[e].a].classList.remove('neighbour');
      nodeEls[edges[e].b].classList.remove('neighbour');
    }
  };

  return {
    root,
    setData(words, relation, importance, palette) {
      const n = words.length;
      const r = Math.max(90, (n * ARC_PER_WORD) / (2 * Math.PI));
      const pad = 10 + MAX_LABEL * 8; // room for a 12-letter label at the narrow side bar's 14px
      const size = 2 * (r + pad);
      const c = size / 2;
      const pos = circularLayout(n, c, c, r);
      edges = topKEdges(relation, n, EDGES_PER_NODE, 0.05);
      const wmax = edges.reduce((m, e) => Math.max(m, e.w), 0) || 1;
      let imax = 0;
      for (const v of importance) if (v > imax) imax = v;
      // Only the more important words are labelled permanently, spaced so that no two labels
      // overlap (the selected word and its neighbours always are, via CSS): 100 labels on one
      // ring would be an unreadable wall.
      const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => importance[b] - importance[a] || a - b);
      const labelled = spacedLabels(order, pos, r, LABEL_ARC, Math.max(20, Math.ceil(0.45 * n)));

      incident = Array.from({ length: n }, () => []);
      edgeLayer = svg('g', { class: 'edges' });
      edgeEls = edges.map((e, k) => {
        incident[e.a].push(k);
        incident[e.b].push(k);
        const p = svg('path', { d: chordPath(pos[e.a], pos[e.b], c, c), class: 'edge', 'stroke-width': (0.4 + 3.6 * (e.w / wmax)).toFixed(2), 'data-a': e.a, 'data-b': e.b });
        edgeLayer.append(p);
        return p;
      });

      const nodeLayer = svg('g', { class: 'nodes' });
      nodeEls = words.map((w, i) => {
        const p = pos[i];
        const deg = (p.angle * 180) / Math.PI;
        const left = Math.cos(p.angle) < 0;
        const label = w.text.length > MAX_LABEL ? w.text.slice(0, MAX_LABEL - 1) + '…' : w.text;
        const t = imax > 0 ? importance[i] / imax : 0;
        const g = svg('g', { class: labelled.has(i) ? 'node' : 'node minor', 'data-word': i },
          svg('title', {}, `${w.text} · importance ${(importance[i] ?? 0).toFixed(3)}`),
          svg('circle', { cx: p.x.toFixed(1), cy: p.y.toFixed(1), r: (2.2 + 3 * t).toFixed(2), fill: rgbCss(paletteColor(palette, t)) }),
          svg('text', {
            x: (p.x + Math.cos(p.angle) * 7).toFixed(1), y: (p.y + Math.sin(p.angle) * 7).toFixed(1),
            transform: `rotate(${(left ? deg + 180 : deg).toFixed(1)} ${(p.x + Math.cos(p.angle) * 7).toFixed(1)} ${(p.y + Math.sin(p.angle) * 7).toFixed(1)})`,
            'text-anchor': left ? 'end' : 'start', 'dominant-baseline': 'central',
          }, label));
        nodeLayer.append(g);
        return g;
      });

      const svgEl = svg('svg', { viewBox: `0 0 ${size.toFixed(0)} ${size.toFixed(0)}`, class: 'graph', role: 'img', 'aria-label': `Relation graph of ${n} words; the word table below lists the same relations` }, edgeLayer, nodeLayer);
      svgEl.addEventListener('click', (e) => {
        const g = (e.target as Element).closest('[data-word]');
        if (g) onSelect(Number(g.getAttribute('data-word')));
      });
      host.replaceChildren(svgEl);
      note.textContent = `${edges.length} strongest relations shown (top ${EDGES_PER_NODE} per word); click a word to select it.`;
      selected = -1;
    },
    select(index) {
      clearSel();
      selected = index;
      if (!nodeEls[index]) return;
      nodeEls[index].classList.add('selected');
      host.classList.add('has-selection');
      for (const e of incident[index]) {
        edgeEls[e].classList.add('hl');
        edgeLayer.append(edgeEls[e]); // paint highlighted chords over the others
        nodeEls[edges[e].a].classList.add('neighbour');
        nodeEls[edges[e].b].classList.add('neighbour');
      }
      nodeEls[index].classList.remove('neighbour');
    },
  };
}

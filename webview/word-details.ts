// The selected word at a glance: importance with its rank, local-matching score, peak region
// and its most related words (buttons that select them).
import { el, fmtNum } from './dom';
import { topRelated } from './graph-layout';
import { peakRegion } from './a11y-table';
import type { ExplanationPayload } from '../src/protocol/explain';

export interface WordDetailsView {
  readonly root: HTMLElement;
  show(p: ExplanationPayload, index: number, ranks: Int32Array): void;
}

/** rank[i] = 1-based position of word i when sorted by importance descending. */
export function importanceRanks(importance: Float32Array): Int32Array {
  const order = Array.from({ length: importance.length }, (_, i) => i).sort((a, b) => importance[b] - importance[a] || a - b);
  const ranks = new Int32Array(importance.length);
  order.forEach((w, r) => { ranks[w] = r + 1; });
  return ranks;
}

export function createWordDetails(onSelect: (i: number) => void): WordDetailsView {
  const root = el('div', { class: 'word-details', 'aria-live': 'polite' });
  root.addEventListener('click', (e) => {
    const b = (e.target as Element).closest('button[data-word]');
    if (b) onSelect(Number(b.getAttribute('data-word')));
  });
  const stat = (label: string, value: string): HTMLElement => el('div', { class: 'stat' }, el('span', { class: 'stat-label' }, label), el('span', { class: 'stat-value' }, value));
  return {
    root,
    show(p, i, ranks) {
      const w = p.words[i];
      if (!w) { root.replaceChildren(); return; }
      const peak = peakRegion(p, i);
      const related = topRelated(p.relation, p.words.length, i, 5);
      root.replaceChildren(
        el('div', { class: 'word-title' }, el('span', { class: 'selected-word' }, w.text), el('span', { class: 'muted' }, ` word ${i + 1} of ${p.words.length}`)),
        el('div', { class: 'stats' },
          stat('IRM importance', `${fmtNum(p.importance[i])} (#${ranks[i]})`),
          stat('local score', fmtNum(p.wordScore[i])),
          stat('peak region', `r${peak.row + 1} c${peak.col + 1}`)),
        el('div', { class: 'related' }, el('span', { class: 'stat-label' }, 'SRM related'),
          ...related.map((r) => el('button', { class: 'chip', 'data-word': String(r.index), title: `relation ${fmtNum(r.w)}` }, `${p.words[r.index].text} `, el('span', { class: 'muted' }, fmtNum(r.w, 2))))));
    },
  };
}

// The same explanation as a plain table, for screen readers and for reading exact numbers:
// every word with its importance, local score, peak region and most related words.
import { el, fmtNum } from './dom';
import { topRelated } from './graph-layout';
import { argmax } from './heatmap';
import type { ExplanationPayload } from '../src/protocol/explain';

export interface WordTableView {
  readonly root: HTMLElement;
  setData(p: ExplanationPayload): void;
  select(index: number): void;
}

export function peakRegion(p: ExplanationPayload, i: number): { row: number; col: number; value: number } {
  const M = p.grid[0] * p.grid[1];
  const rowVals = p.attention.subarray(i * M, (i + 1) * M);
  const k = argmax(rowVals);
  return { row: Math.floor(k / p.grid[1]), col: k % p.grid[1], value: rowVals[k] ?? 0 };
}

export function createWordTable(onSelect: (i: number) => void): WordTableView {
  const body = el('tbody');
  const table = el('table', { class: 'word-table data-table' },
    el('caption', {}, 'Every report word: IRM importance, local-matching score, peak attention region and top SRM relations'),
    el('thead', {}, el('tr', {},
      el('th', { scope: 'col' }, '#'), el('th', { scope: 'col' }, 'Word'), el('th', { scope: 'col' }, 'Importance'),
      el('th', { scope: 'col' }, 'Local score'), el('th', { scope: 'col' }, 'Peak region'), el('th', { scope: 'col' }, 'Related words'))),
    body);
  const root = el('div', { class: 'table-scroll' }, table);
  let rows: HTMLTableRowElement[] = [];
  let selected = -1;
  body.addEventListener('click', (e) => {
    const tr = (e.target as Element).closest('tr[data-word]');
    if (tr) onSelect(Number(tr.getAttribute('data-word')));
  });
  return {
    root,
    setData(p) {
      const n = p.words.length;
      rows = p.words.map((w, i) => {
        const peak = peakRegion(p, i);
        const rel = topRelated(p.relation, n, i, 3).map((r) => `${p.words[r.index].text} (${fmtNum(r.w, 2)})`).join(', ');
        return el('tr', { 'data-word': String(i) },
          el('td', {}, String(i + 1)), el('th', { scope: 'row' }, w.text), el('td', { class: 'num' }, fmtNum(p.importance[i])),
          el('td', { class: 'num' }, fmtNum(p.wordScore[i])), el('td', {}, `r${peak.row + 1} c${peak.col + 1}`), el('td', {}, rel));
      });
      body.replaceChildren(...rows);
      selected = -1;
    },
    select(index) {
      rows[selected]?.removeAttribute('aria-current');
      selected = index;
      rows[index]?.setAttribute('aria-current', 'true');
    },
  };
}

// Eval and ablation tables: generic {columns, rows}; numbers right-aligned at fixed precision,
// the best value of each numeric column emphasised when the table asks for it.
import type { TableData } from '../src/protocol/webview-messages';
import { el } from './dom';

/** Row index of the max per column (undefined for columns with no numbers). */
export function bestPerColumn(t: TableData): Array<number | undefined> {
  return t.columns.map((_, c) => {
    let best: number | undefined;
    t.rows.forEach((r, i) => {
      const v = r[c];
      if (typeof v === 'number' && Number.isFinite(v) && (best === undefined || v > (t.rows[best][c] as number))) best = i;
    });
    return best;
  });
}

export function formatCell(v: string | number | null): string {
  if (v === null) return '–';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  return Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(1) : v.toFixed(4);
}

export function renderTable(t: TableData): HTMLElement {
  const best = t.highlightBest ? bestPerColumn(t) : [];
  return el('div', { class: 'table-scroll' }, el('table', { class: 'data-table' },
    el('caption', {}, t.title),
    el('thead', {}, el('tr', {}, ...t.columns.map((c) => el('th', { scope: 'col' }, c)))),
    el('tbody', {}, ...t.rows.map((r, i) => el('tr', {}, ...r.map((v, c) => {
      const cls = [typeof v === 'number' ? 'num' : '', best[c] === i ? 'best' : ''].filter(Boolean).join(' ');
      return el(c === 0 ? 'th' : 'td', { ...(cls ? { class: cls } : {}), ...(c === 0 ? { scope: 'row' } : {}) }, formatCell(v));
    }))))));
}

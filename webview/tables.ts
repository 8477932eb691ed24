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

/** Column index of the max per row (runs as columns: comparisons). */
export function bestPerRow(t: TableData): Array<number | undefined> {
  return t.rows.map((r) => {
    let best: number | undefined;
    r.forEach((v, c) => { if (typeof v === 'number' && Number.isFinite(v) && (best === undefined || v > (r[best] as number))) best = c; });
    return best;
  });
}

export function renderTable(t: TableData): HTMLElement {
  const best = t.highlightBest && t.bestPer !== 'row' ? bestPerColumn(t) : [];
  const bestRow = t.highlightBest && t.bestPer === 'row' ? bestPerRow(t) : [];
  return el('div', { class: 'table-scroll' }, el('table', { class: 'data-table' },
    el('caption', {}, t.title),
    el('thead', {}, el('tr', {}, ...t.columns.map((c) => el('th', { scope: 'col' }, c)))),
    el('tbody', {}, ...t.rows.map((r, i) => el('tr', {}, ...r.map((v, c) => {
      const cls = [typeof v === 'number' ? 'num' : '', best[c] === i || bestRow[i] === c ? 'best' : ''].filter(Boolean).join(' ');
      const sd = t.spread?.[i]?.[c];
      const text = typeof v === 'number' && typeof sd === 'number' ? `${formatCell(v)} ± ${formatCell(sd)}` : formatCell(v);
      return el(c === 0 ? 'th' : 'td', { ...(cls ? { class: cls } : {}), ...(c === 0 ? { scope: 'row' } : {}) }, text);
    }))))));
}

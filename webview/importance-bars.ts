// IRM importance as horizontal bars: the report's most important words, strongest first,
// each with its local-matching score. Clicking a bar selects the word.
import { paletteColor, rgbCss, type PaletteName } from './colormap';
import { el, fmtNum } from './dom';
import type { ExplainWord } from '../src/protocol/explain';

export interface ImportanceBarsView {
  readonly root: HTMLElement;
  setData(words: ExplainWord[], importance: Float32Array, wordScore: Float32Array, palette: PaletteName): void;
  select(index: number): void;
}

/** Indices of the k largest values, descending (ties by position). */
export function topIndices(values: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i)
    .sort((a, b) => values[b] - values[a] || a - b)
    .slice(0, k);
}

const SHOWN = 15;

export function createImportanceBars(onSelect: (i: number) => void): ImportanceBarsView {
  const list = el('ol', { class: 'bars', 'aria-label': `Most important words` });
  const root = el('div', { class: 'importance' }, list);
  let rows = new Map<number, HTMLElement>();
  let selected = -1;
  list.addEventListener('click', (e) => {
    const li = (e.target as Element).closest('[data-word]');
    if (li) onSelect(Number(li.getAttribute('data-word')));
  });
  return {
    root,
    setData(words, importance, wordScore, palette) {
      const top = topIndices(importance, SHOWN);
      const max = top.length ? importance[top[0]] : 0;
      rows = new Map();
      list.replaceChildren(...top.map((i) => {
        const t = max > 0 ? importance[i] / max : 0;
        const fill = el('span', { class: 'bar-fill' });
        fill.style.width = `${(100 * t).toFixed(1)}%`;
        fill.style.backgroundColor = rgbCss(paletteColor(palette, t));
        const li = el('li', { class: 'bar-row', 'data-word': String(i), title: `local score ${fmtNum(wordScore[i])}` },
          el('span', { class: 'bar-label' }, words[i].text),
          el('span', { class: 'bar-track' }, fill),
          el('span', { class: 'bar-value' }, fmtNum(importance[i])));
        rows.set(i, li);
        return li;
      }));
      selected = -1;
    },
    select(index) {
      rows.get(selected)?.classList.remove('selected');
      selected = index;
      rows.get(index)?.classList.add('selected');
    },
  };
}

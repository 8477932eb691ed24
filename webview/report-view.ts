// The report text with each model word tinted by its IRM importance. Words are a listbox with
// a roving tabindex: one tab stop, arrow keys move the selection, Home/End jump, Enter on a
// word reveals it in the editor when the report came from a file.
import { wordColors, type PaletteName, type Rgb } from './colormap';
import { el } from './dom';
import type { ExplainWord } from '../src/protocol/explain';

export interface ReportView {
  readonly root: HTMLElement;
  setWords(report: string, words: ExplainWord[], importance: Float32Array): void;
  select(index: number, focus: boolean): void;
  recolour(palette: PaletteName, themeBg: Rgb): void;
}

export interface ReportCallbacks {
  onSelect(index: number): void;
  onReveal(index: number): void;
}

export interface TextPiece { text: string; word?: number }

/** Splits the report into gaps and words by the payload's char offsets (overlaps are skipped, order kept). */
export function splitReport(report: string, words: ExplainWord[]): TextPiece[] {
  const order = words.map((w, i) => ({ w, i })).sort((a, b) => a.w.start - b.w.start || a.i - b.i);
  const out: TextPiece[] = [];
  let pos = 0;
  for (const { w, i } of order) {
    if (w.start < pos || w.end > report.length || w.end <= w.start) continue;
    if (w.start > pos) out.push({ text: report.slice(pos, w.start) });
    out.push({ text: report.slice(w.start, w.end), word: i });
    pos = w.end;
  }
  if (pos < report.length) out.push({ text: report.slice(pos) });
  return out;
}

/** Next selection for a key, or undefined when the key is not a navigation key. */
export function navigate(key: string, current: number, n: number): number | undefined {
  if (n === 0) return undefined;
  switch (key) {
    case 'ArrowRight': case 'ArrowDown': return Math.min(n - 1, current + 1);
    case 'ArrowLeft': case 'ArrowUp': return Math.max(0, current - 1);
    case 'Home': return 0;
    case 'End': return n - 1;
    case 'PageDown': return Math.min(n - 1, current + 10);
    case 'PageUp': return Math.max(0, current - 10);
    default: return undefined;
  }
}

export function createReportView(cb: ReportCallbacks): ReportView {
  const text = el('div', { class: 'report-text', role: 'listbox', 'aria-label': 'Report words, coloured by importance', 'aria-orientation': 'horizontal' });
  const root = el('div', { class: 'report' }, text);
  let spans: HTMLElement[] = [];
  let importance: Float32Array = new Float32Array(0);
  let selected = -1;

  const pick = (target: EventTarget | null): number | undefined => {
    const w = (target as HTMLElement | null)?.closest?.('[data-word]');
    return w ? Number((w as HTMLElement).dataset.word) : undefined;
  };
  text.addEventListener('click', (e) => {
    const i = pick(e.target);
    if (i !== undefined) cb.onSelect(i);
  });
  text.addEventListener('dblclick', (e) => {
    const i = pick(e.target);
    if (i !== undefined) cb.onReveal(i);
  });
  text.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' || e.key === ' ') {
      if (selected >= 0) cb.onReveal(selected);
      e.preventDefault();
      return;
    }
    const next = navigate(e.key, Math.max(0, selected), spans.length);
    if (next === undefined) return;
    e.preventDefault();
    cb.onSelect(next);
  });

  return {
    root,
    setWords(report, words, imp) {
      importance = imp;
      spans = new Array<HTMLElement>(words.length);
      const frag = document.createDocumentFragment();
      for (const piece of splitReport(report, words)) {
        if (piece.word === undefined) { frag.append(piece.text); continue; }
        const i = piece.word;
        const s = el('span', {
          class: 'word', role: 'option', tabindex: '-1', 'aria-selected': 'false', 'data-word': String(i),
          'data-start': String(words[i].start), 'data-end': String(words[i].end),
          'aria-label': `${piece.text}, importance ${(imp[i] ?? 0).toFixed(3)}`,
        }, piece.text);
        spans[i] = s;
        frag.append(s);
      }
      // Words whose offsets were unusable still get an entry so indices stay aligned.
      for (let i = 0; i < spans.length; i++) if (!spans[i]) spans[i] = el('span', { class: 'word', hidden: '', 'data-word': String(i) });
      text.replaceChildren(frag);
      selected = -1;
    },
    select(index, focus) {
      if (selected >= 0 && spans[selected]) {
        spans[selected].classList.remove('selected');
        spans[selected].setAttribute('aria-selected', 'false');
        spans[selected].tabIndex = -1;
      }
      selected = index;
      const s = spans[index];
      if (!s) return;
      s.classList.add('selected');
      s.setAttribute('aria-selected', 'true');
      s.tabIndex = 0;
      if (focus) s.focus({ preventScroll: true });
      s.scrollIntoView({ block: 'nearest', inline: 'nearest' });
    },
    recolour(palette, themeBg) {
      let max = 0;
      for (const v of importance) if (v > max) max = v;
      spans.forEach((s, i) => {
        const c = wordColors(palette, max > 0 ? importance[i] / max : 0, themeBg);
        s.style.backgroundColor = c.bg;
        s.style.color = c.fg;
      });
    },
  };
}

// Evaluation results: one compact card per task with its headline metrics first (each beside the
// baseline it is read against), the rest behind "all metrics"; several runs side by side per task.
// Draws what the host sends (ResultsMessage); nothing is computed here.
import type { ResultsMessage, RunResults, TaskResult } from '../src/protocol/webview-messages';
import { el, fmtNum } from './dom';
import { formatCell } from './tables';

function headlineRow(name: string, value: number | null, baseline: number | null): HTMLElement {
  return el('div', { class: 'metric' },
    el('span', { class: 'metric-name' }, name),
    el('span', { class: 'metric-value' }, value === null ? '–' : fmtNum(value)),
    baseline !== null ? el('span', { class: 'metric-baseline', title: 'baseline (uniform attention or a random-init model)' }, `floor ${fmtNum(baseline)}`) : null);
}

function taskCard(t: TaskResult): HTMLElement {
  const details = el('details', { class: 'task-details' }, el('summary', {}, `all metrics (${t.details.length + t.headline.length})`),
    el('table', { class: 'data-table' }, el('tbody', {}, ...t.details.map(([k, v]) => el('tr', {}, el('th', { scope: 'row' }, k), el('td', { class: 'num' }, formatCell(v)))))));
  return el('section', { class: 'task-card', 'data-task': t.task },
    el('h3', {}, t.task),
    el('div', { class: 'headline' }, ...t.headline.map(([k, v, b]) => headlineRow(k, v, b))),
    t.details.length ? details : null);
}

/** Several runs: per task, one row per headline metric, one column per run (the best in bold). */
function comparison(runs: RunResults[]): HTMLElement {
  const tasks = [...new Set(runs.flatMap((r) => r.tasks.map((t) => t.task)))];
  return el('div', { class: 'compare' }, ...tasks.map((task) => {
    const metrics = [...new Set(runs.flatMap((r) => r.tasks.find((t) => t.task === task)?.headline.map((h) => h[0]) ?? []))];
    const value = (r: RunResults, m: string): number | null => r.tasks.find((t) => t.task === task)?.headline.find((h) => h[0] === m)?.[1] ?? null;
    return el('section', { class: 'task-card wide', 'data-task': task }, el('h3', {}, task),
      el('div', { class: 'table-scroll' }, el('table', { class: 'data-table' },
        el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, 'metric'), ...runs.map((r) => el('th', { scope: 'col' }, r.run)))),
        el('tbody', {}, ...metrics.map((m) => {
          const vals = runs.map((r) => value(r, m));
          const best = Math.max(...vals.filter((v): v is number => v !== null));
          return el('tr', {}, el('th', { scope: 'row' }, m), ...vals.map((v) => el('td', { class: `num${v !== null && v === best && runs.length > 1 ? ' best' : ''}` }, formatCell(v))));
        })))));
  }));
}

export function renderResults(m: Pick<ResultsMessage, 'title' | 'runs'>): HTMLElement {
  const body = m.runs.length === 1 ? el('div', { class: 'task-cards' }, ...m.runs[0].tasks.map(taskCard)) : comparison(m.runs);
  return el('div', { class: 'results' }, el('p', { class: 'results-title' }, m.title), body);
}

// Evaluation and ablation jobs as the panel shows them: their own kind of job with a progress line
// (task i of n and the time left; run k of n of the grid), never a training header at step 0/0.
// Folded from the job's engine events into plain JSON (kept in the page's state).
import type { EngineEvent, TaskState } from '../src/protocol/events';
import type { PanelJobState } from '../src/protocol/webview-messages';
import { el, fmtNum } from './dom';

export interface JobCell { variant: string; seed: number; index: number; state: TaskState; metric?: { name: string; value: number } }

export interface JobView {
  runId: string;
  kind: 'eval' | 'ablation';
  status: PanelJobState;
  task?: { task: string; index: number; total: number; etaS: number };
  tasksDone: string[];
  total?: number;
  cells: JobCell[];
  error?: string;
}

export function emptyJob(runId: string, kind: JobView['kind']): JobView {
  return { runId, kind, status: 'running', tasksDone: [], cells: [] };
}

export function accumulateJob(v: JobView, events: readonly EngineEvent[]): JobView {
  for (const e of events) {
    switch (e.type) {
      case 'run_started': v.status = 'running'; v.tasksDone = []; delete v.task; delete v.error; break;
      case 'eval_progress': v.task = { task: e.task, index: e.index, total: e.total, etaS: e.eta_s }; v.total = e.total; break;
      case 'eval_result': if (!v.tasksDone.includes(e.task)) v.tasksDone.push(e.task); break;
      case 'ablation_started':
        v.total = e.total_runs;
        v.cells = e.variants.flatMap((variant, i) => e.seeds.map((seed, j) => ({ variant, seed, index: i * e.seeds.length + j + 1, state: 'pending' as TaskState })));
        break;
      case 'ablation_task': {
        const c = v.cells.find((x) => x.variant === e.variant && x.seed === e.seed);
        const cell: JobCell = { variant: e.variant, seed: e.seed, index: e.index, state: e.state, ...(e.metric ?? c?.metric ? { metric: e.metric ?? c?.metric } : {}) };
        if (c) Object.assign(c, cell); else v.cells.push(cell);
        v.total = Math.max(v.total ?? 0, e.total);
        break;
      }
      case 'error': v.error = e.message; break;
      case 'run_finished': v.status = e.status === 'ok' ? 'finished' : e.status; delete v.task; break;
      default: break;
    }
  }
  return v;
}

const done = (s: TaskState): boolean => s === 'finished' || s === 'failed' || s === 'cancelled';

/** "task grounding (3/7) · ETA 20 s", "run 3 of 4 · 2 done", or how it ended. */
export function jobStatusText(v: JobView): string {
  if (v.kind === 'eval') {
    if (v.status === 'running' && v.task) {
      const eta = v.task.etaS >= 0 && Number.isFinite(v.task.etaS) ? ` · ETA ${Math.round(v.task.etaS)} s` : '';
      return `running · task ${v.task.task} (${v.task.index}/${v.task.total})${eta}`;
    }
    return `${v.status === 'incomplete' ? 'stopped' : v.status} · ${v.tasksDone.length} task${v.tasksDone.length === 1 ? '' : 's'} done`;
  }
  const finished = v.cells.filter((c) => done(c.state)).length;
  const cur = v.cells.filter((c) => c.state === 'running').sort((a, b) => b.index - a.index)[0];
  const head = v.status === 'running' && cur ? `running · run ${cur.index} of ${v.total ?? v.cells.length}: ${cur.variant} seed ${cur.seed}` : v.status;
  return `${head} · ${finished}/${v.total ?? v.cells.length} done`;
}

export function jobPercent(v: JobView): number {
  if (v.status === 'finished') return 100;
  if (v.kind === 'eval') return v.task ? (100 * (v.task.index - 1)) / v.task.total : 0;
  const total = v.total ?? v.cells.length;
  return total ? (100 * v.cells.filter((c) => done(c.state)).length) / total : 0;
}

export function renderJob(v: JobView): HTMLElement {
  const bar = el('span', { class: 'progress-fill' });
  bar.style.width = `${jobPercent(v).toFixed(1)}%`;
  const title = v.kind === 'eval' ? 'Evaluation' : 'Ablation';
  return el('div', { class: `job job-${v.kind}` },
    el('div', { class: `run-status status-${v.status}` }, el('strong', {}, `${title}: ${v.runId}`), ` · ${jobStatusText(v)}`),
    el('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': jobPercent(v).toFixed(0) }, bar),
    v.error ? el('p', { class: 'run-error', role: 'alert' }, v.error) : null,
    v.kind === 'ablation' && v.cells.length ? el('ul', { class: 'cells' }, ...v.cells.map((c) => el('li', { class: `cell state-${c.state}` },
      `${c.variant} · seed ${c.seed} · ${c.state}${c.metric ? ` · ${c.metric.name} ${fmtNum(c.metric.value)}` : ''}`))) : null);
}

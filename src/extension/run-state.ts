// What a job is doing, folded from its engine events (pure: no `vscode`, no fs). The runs tree,
// the panel header and the progress notifications all describe a job from this one fold, so they
// cannot disagree about its state, step, loss or ETA.
import type { AblationTaskEvent, EngineEvent, JobKind, TaskState } from '../protocol/events';
import { deviceLabel, type AdapterInfo } from '../protocol/device';

/** A job's state as the user reads it. `incomplete`: stopped without saying how (killed, lost). */
export type JobState = 'running' | 'finished' | 'cancelled' | 'failed' | 'requeued' | 'incomplete';

export interface EvalTaskProgress { task: string; index: number; total: number; etaS: number }

/** One variant x seed of an ablation, as its latest ablation_task event says. */
export interface AblationCell {
  variant: string;
  seed: number;
  index: number;
  state: TaskState;
  runDir: string;
  jobId?: string;
  metric?: { name: string; value: number };
  message?: string;
}

export interface AblationProgress {
  variants: string[];
  seeds: number[];
  total: number;
  executor: 'local' | 'slurm';
  /** key `${variant}/${seed}` */
  cells: Record<string, AblationCell>;
}

export interface JobStatus {
  kind: JobKind;
  state: JobState;
  /** Whether any event at all was read (an empty or missing events file: nothing known). */
  started: boolean;
  backend?: string;
  device?: string;
  adapter?: AdapterInfo;
  step?: number;
  totalSteps?: number;
  epoch?: number;
  loss?: number;
  etaS?: number;
  itemsPerS?: number;
  resumedFromStep?: number;
  evalTask?: EvalTaskProgress;
  /** Latest value of every metric, key `${name} (${split})`. */
  metrics: Record<string, number>;
  /** eval_result metrics per task (evaluation jobs). */
  results: Record<string, Record<string, number>>;
  ablation?: AblationProgress;
  error?: string;
  warnings: number;
}

export function emptyJob(kind: JobKind): JobStatus {
  return { kind, state: 'incomplete', started: false, metrics: {}, results: {}, warnings: 0 };
}

export const cellKey = (variant: string, seed: number): string => `${variant}/${seed}`;

function applyAblationTask(a: AblationProgress, e: AblationTaskEvent): void {
  const prev = a.cells[cellKey(e.variant, e.seed)];
  a.cells[cellKey(e.variant, e.seed)] = {
    variant: e.variant, seed: e.seed, index: e.index, state: e.state, runDir: e.run_dir,
    ...(e.job_id ?? prev?.jobId ? { jobId: e.job_id ?? prev?.jobId } : {}),
    ...(e.metric ?? prev?.metric ? { metric: e.metric ?? prev?.metric } : {}),
    ...(e.message ? { message: e.message } : {}),
  };
  if (e.total > a.total) a.total = e.total;
}

/**
 * Folds events into the status (mutates and returns it). A run_started opens a new attempt (a
 * resume, a re-run of an evaluation): state and error reset, history-wide fields (results) stay.
 */
export function applyEvents(s: JobStatus, events: readonly EngineEvent[]): JobStatus {
  for (const e of events) {
    s.started = true;
    switch (e.type) {
      case 'run_started':
        if (e.job) s.kind = e.job;
        s.state = 'running';
        s.backend = e.backend; s.device = e.device; s.adapter = e.adapter;
        s.resumedFromStep = e.resumed_from_step;
        delete s.error;
        delete s.evalTask;
        s.etaS = undefined;
        break;
      case 'progress':
        if (s.state !== 'running') s.state = 'running';
        s.step = e.step; s.totalSteps = e.total_steps; s.epoch = e.epoch; s.etaS = e.eta_s; s.itemsPerS = e.items_per_s;
        if (Number.isFinite(e.loss)) s.loss = e.loss;
        break;
      case 'metric':
        if (Number.isFinite(e.value)) s.metrics[`${e.name} (${e.split})`] = e.value;
        break;
      case 'eval_progress':
        s.kind = 'eval';
        if (s.state !== 'running') s.state = 'running';
        s.evalTask = { task: e.task, index: e.index, total: e.total, etaS: e.eta_s };
        break;
      case 'eval_result':
        s.results[e.task] = { ...e.metrics };
        break;
      case 'ablation_started':
        s.kind = 'ablation';
        s.state = 'running';
        s.ablation = { variants: [...e.variants], seeds: [...e.seeds], total: e.total_runs, executor: e.executor, cells: {} };
        e.variants.forEach((v, i) => e.seeds.forEach((seed, j) => {
          s.ablation!.cells[cellKey(v, seed)] = { variant: v, seed, index: i * e.seeds.length + j + 1, state: 'pending', runDir: '' };
        }));
        break;
      case 'ablation_task':
        s.kind = 'ablation';
        s.ablation ??= { variants: [], seeds: [], total: e.total, executor: e.job_id ? 'slurm' : 'local', cells: {} };
        if (!s.ablation.variants.includes(e.variant)) s.ablation.variants.push(e.variant);
        if (!s.ablation.seeds.includes(e.seed)) s.ablation.seeds.push(e.seed);
        applyAblationTask(s.ablation, e);
        if (s.state !== 'running' && s.state !== 'requeued') s.state = 'running';
        break;
      case 'warning': s.warnings++; break;
      case 'error': s.error = e.message; break;
      case 'run_finished':
        s.state = e.status === 'ok' ? 'finished' : e.status;
        if (e.status === 'failed' && !s.error && typeof e.summary?.error === 'string') s.error = e.summary.error;
        delete s.evalTask;
        break;
      default: break;
    }
  }
  // A Slurm ablation whose cells were requeued is itself waiting again, not failing.
  if (s.ablation && s.state === 'running') {
    const cells = Object.values(s.ablation.cells);
    if (cells.some((c) => c.state === 'requeued') && !cells.some((c) => c.state === 'running')) s.state = 'requeued';
  }
  // An ablation's events file has no run_finished: the grid is over when every cell is (a
  // process may still be tabulating, but nothing is left to run or to wait for).
  if (s.ablation && (s.state === 'running' || s.state === 'requeued') && s.ablation.total > 0) {
    const c = ablationCounts(s.ablation);
    if (c.done >= s.ablation.total) s.state = c.failed ? 'failed' : c.cancelled === c.done ? 'cancelled' : 'finished';
  }
  return s;
}

/**
 * The state once the process is known: an attempt that started and did not finish is running
 * while its process lives (or, for runs this window did not start, while its events are fresh),
 * `incomplete` otherwise.
 */
export function settleState(s: JobStatus, alive: boolean): JobState {
  if (s.state === 'running' || s.state === 'requeued') return alive ? s.state : 'incomplete';
  return s.state;
}

export function formatEta(s: number | undefined): string {
  if (s === undefined || !Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${Math.round((s % 3600) / 60)}m`;
}

export function ablationCounts(a: AblationProgress): Record<TaskState, number> & { done: number } {
  const counts = { pending: 0, queued: 0, running: 0, requeued: 0, finished: 0, failed: 0, cancelled: 0, done: 0 };
  for (const c of Object.values(a.cells)) counts[c.state]++;
  counts.done = counts.finished + counts.failed + counts.cancelled;
  return counts;
}

/** The running ablation cell with the highest index (the one a local executor is on). */
function currentCell(a: AblationProgress): AblationCell | undefined {
  return Object.values(a.cells).filter((c) => c.state === 'running').sort((x, y) => y.index - x.index)[0];
}

/**
 * One line for a notification or a tree description: "step 30/90 · loss 11.2345 · ETA 1m 5s",
 * "task grounding (3/7) · ETA 40s", "run 3 of 4: reclf seed 0 · 2 done".
 */
export function describeProgress(s: JobStatus): string {
  if (s.kind === 'ablation' && s.ablation) {
    const c = ablationCounts(s.ablation);
    const cur = currentCell(s.ablation);
    const head = cur ? `run ${cur.index} of ${s.ablation.total}: ${cur.variant} seed ${cur.seed}` : `${s.ablation.total} runs`;
    const parts = [head, `${c.done} done`];
    if (c.failed) parts.push(`${c.failed} failed`);
    if (c.queued + c.pending) parts.push(`${c.queued + c.pending} waiting`);
    if (c.requeued) parts.push(`${c.requeued} requeued`);
    return parts.join(' · ');
  }
  if (s.kind === 'eval') {
    if (s.evalTask) return `task ${s.evalTask.task} (${s.evalTask.index}/${s.evalTask.total}) · ETA ${formatEta(s.evalTask.etaS)}`;
    const n = Object.keys(s.results).length;
    return n ? `${n} task${n > 1 ? 's' : ''} done` : 'starting';
  }
  if (s.step === undefined) return 'starting';
  const loss = s.loss !== undefined ? ` · loss ${s.loss.toFixed(4)}` : '';
  const eta = s.state === 'running' ? ` · ETA ${formatEta(s.etaS)}` : '';
  return `step ${s.step}/${s.totalSteps ?? '?'}${loss}${eta}`;
}

/** The device label of the latest attempt ("NVIDIA H100", "cpu"), if the job said. */
export function jobDevice(s: JobStatus): string | undefined {
  return deviceLabel(s.backend, s.device, s.adapter) || undefined;
}

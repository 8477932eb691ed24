// Engine events: one JSON object per stdout line. The only definition of these shapes; the
// engine writes them, the extension's run manager and the webview read them.

export type RunStatus = 'ok' | 'cancelled' | 'failed';

/** What a job of the engine is: the runs tree and the panel show each kind differently. */
export const JOB_KINDS = ['train', 'eval', 'ablation'] as const;
export type JobKind = (typeof JOB_KINDS)[number];

/** Where an ablation's run is, whichever executor runs it (local process or a Slurm array task). */
export const TASK_STATES = ['pending', 'queued', 'running', 'requeued', 'finished', 'failed', 'cancelled'] as const;
export type TaskState = (typeof TASK_STATES)[number];

export interface RunStartedEvent {
  type: 'run_started';
  run_id: string;
  /** Absent in runs written before job kinds existed: a training run. */
  job?: JobKind;
  backend: string;
  device: string;
  /** The GPU adapter behind a WebGPU backend, when there is one (`software`: a CPU rasteriser such as llvmpipe). */
  adapter?: { vendor: string; architecture: string; description: string; software: boolean };
  config: unknown;
  resumed_from_step?: number;
}
export interface ProgressEvent {
  type: 'progress';
  step: number;
  total_steps: number;
  epoch: number;
  loss: number;
  lr: number;
  items_per_s: number;
  eta_s: number;
}
export interface MetricEvent {
  type: 'metric';
  name: string;
  value: number;
  step: number;
  split: string;
}
export interface CheckpointEvent {
  type: 'checkpoint';
  path: string;
  step: number;
}
export interface WarningEvent {
  type: 'warning';
  message: string;
  record?: string;
}
export interface EvalResultEvent {
  type: 'eval_result';
  task: string;
  metrics: Record<string, number>;
}
export interface ErrorEvent {
  type: 'error';
  code: string;
  message: string;
}
export interface RunFinishedEvent {
  type: 'run_finished';
  status: RunStatus;
  summary: Record<string, unknown>;
}

/** An evaluation's progress: which task of how many, and the time left. */
export interface EvalProgressEvent {
  type: 'eval_progress';
  task: string;
  /** 1-based position of the task. */
  index: number;
  total: number;
  eta_s: number;
}
/** An ablation grid is about to run: written first to stdout and to ABLATION_DIR/events.jsonl. */
export interface AblationStartedEvent {
  type: 'ablation_started';
  ablation_dir: string;
  variants: string[];
  seeds: number[];
  total_runs: number;
  executor: 'local' | 'slurm';
}
/** One variant x seed of an ablation changed state (also appended to ABLATION_DIR/events.jsonl). */
export interface AblationTaskEvent {
  type: 'ablation_task';
  variant: string;
  seed: number;
  /** 1-based position of this run in the grid, of `total`. */
  index: number;
  total: number;
  state: TaskState;
  run_dir: string;
  /** Slurm job id (array job id and task, e.g. "1234_3") when the executor is slurm. */
  job_id?: string;
  /** The ablation's key metric for this run once evaluated. */
  metric?: { name: string; value: number };
  /** Why it failed, or where its log is. */
  message?: string;
}

export type EngineEvent =
  | RunStartedEvent
  | ProgressEvent
  | MetricEvent
  | CheckpointEvent
  | WarningEvent
  | EvalResultEvent
  | ErrorEvent
  | RunFinishedEvent
  | EvalProgressEvent
  | AblationStartedEvent
  | AblationTaskEvent;

export type EngineEventType = EngineEvent['type'];

const EVENT_TYPES: ReadonlySet<string> = new Set<EngineEventType>([
  'run_started', 'progress', 'metric', 'checkpoint', 'warning', 'eval_result', 'error', 'run_finished',
  'eval_progress', 'ablation_started', 'ablation_task',
]);

/** Parses one line of engine stdout; returns undefined for anything that is not an engine event. */
export function parseEngineEvent(line: string): EngineEvent | undefined {
  const trimmed = line.trim();
  if (!trimmed.startsWith('{')) return undefined;
  try {
    const obj = JSON.parse(trimmed) as { type?: unknown };
    if (typeof obj.type === 'string' && EVENT_TYPES.has(obj.type)) return obj as EngineEvent;
  } catch {
    /* not JSON: a stray log line */
  }
  return undefined;
}

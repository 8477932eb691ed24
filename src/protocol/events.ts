// Engine events: one JSON object per stdout line. The only definition of these shapes; the
// engine writes them, the extension's run manager and the webview read them.

export type RunStatus = 'ok' | 'cancelled' | 'failed';

export interface RunStartedEvent {
  type: 'run_started';
  run_id: string;
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

export type EngineEvent =
  | RunStartedEvent
  | ProgressEvent
  | MetricEvent
  | CheckpointEvent
  | WarningEvent
  | EvalResultEvent
  | ErrorEvent
  | RunFinishedEvent;

export type EngineEventType = EngineEvent['type'];

const EVENT_TYPES: ReadonlySet<string> = new Set<EngineEventType>([
  'run_started', 'progress', 'metric', 'checkpoint', 'warning', 'eval_result', 'error', 'run_finished',
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

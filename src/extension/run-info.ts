// What a run folder says about itself (pure Node): status, method, device, best metrics, from
// train-summary.json, config.json and events.jsonl (its tail, and its head for run_started).
import fs from 'node:fs';
import path from 'node:path';
import { parseEngineEvent, type RunStartedEvent, type RunStatus } from '../protocol/events';
import { describeDevice, type DeviceKind } from '../protocol/device';

/** `requeued`: a cluster job waiting to run again (Slurm). */
export type RunState = RunStatus | 'running' | 'requeued' | 'incomplete';

export interface RunInfo {
  dir: string;
  name: string;
  status: RunState;
  method?: string;
  step?: number;
  totalSteps?: number;
  /** Best validation / eval numbers, display name -> value. */
  metrics: Record<string, number>;
  hasOnnx: boolean;
  hasCheckpoint: boolean;
  error?: string;
  /** TF.js backend of the latest (re)start, e.g. "webgpu". */
  backend?: string;
  /** The engine's device text, e.g. "gpu (WebGPU/Dawn: nvidia ampere NVIDIA H100)". */
  device?: string;
  /** Short device label: "NVIDIA H100", "software GPU (llvmpipe)", "cpu". */
  deviceLabel?: string;
  deviceKind?: DeviceKind;
}

function readJson(file: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

/** The last `bytes` of a file as lines (events files grow large; status sits at the end). */
function tailLines(file: string, bytes = 64 * 1024): { lines: string[]; whole: boolean } {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return { lines: [], whole: true };
  }
  try {
    const size = fs.fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    fs.readSync(fd, buf, 0, buf.length, start);
    const lines = buf.toString('utf8').split('\n');
    if (start > 0) lines.shift(); // partial first line
    return { lines, whole: start === 0 };
  } finally {
    fs.closeSync(fd);
  }
}

/** The first run_started in the first `bytes` of a file (it is the first event of a run). */
function headRunStarted(file: string, bytes = 64 * 1024): RunStartedEvent | undefined {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return undefined;
  }
  try {
    const buf = Buffer.alloc(Math.min(bytes, fs.fstatSync(fd).size));
    fs.readSync(fd, buf, 0, buf.length, 0);
    for (const line of buf.toString('utf8').split('\n')) {
      const e = parseEngineEvent(line);
      if (e?.type === 'run_started') return e;
    }
    return undefined;
  } finally {
    fs.closeSync(fd);
  }
}

export function isRunFolder(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'config.json')) || fs.existsSync(path.join(dir, 'events.jsonl'));
}

export function readRunInfo(dir: string, running: boolean): RunInfo {
  const info: RunInfo = {
    dir, name: path.basename(dir), status: running ? 'running' : 'incomplete', metrics: {},
    hasOnnx: fs.existsSync(path.join(dir, 'model.onnx')),
    hasCheckpoint: fs.existsSync(path.join(dir, 'checkpoints')),
  };
  const config = readJson(path.join(dir, 'config.json'));
  const method = config?.method;
  if (typeof method === 'object' && method !== null && typeof (method as Record<string, unknown>).name === 'string') {
    info.method = (method as Record<string, string>).name;
  }
  const eventsFile = path.join(dir, 'events.jsonl');
  const tail = tailLines(eventsFile);
  let started: RunStartedEvent | undefined;
  for (const line of tail.lines) {
    const e = parseEngineEvent(line);
    if (!e) continue;
    if (e.type === 'progress') { info.step = e.step; info.totalSteps = e.total_steps; }
    else if (e.type === 'run_started') { started = e; if (running) info.status = 'running'; }
    else if (e.type === 'run_finished' && !running) info.status = e.status;
    else if (e.type === 'error') info.error = e.message;
    else if (e.type === 'eval_result') {
      for (const [k, v] of Object.entries(e.metrics)) if (typeof v === 'number') info.metrics[`${e.task}/${k}`] = v;
    }
  }
  // The latest (re)start's device from the tail; else (a long run) the first start's, at the head.
  started ??= tail.whole ? undefined : headRunStarted(eventsFile);
  const summary = readJson(path.join(dir, 'train-summary.json'));
  const backend = started?.backend ?? (typeof summary?.backend === 'string' ? summary.backend : undefined);
  const device = started?.device ?? (typeof summary?.device === 'string' ? summary.device : undefined);
  const d = describeDevice(backend, device, started?.adapter);
  if (backend) info.backend = backend;
  if (device) info.device = device;
  if (d) { info.deviceLabel = d.label; info.deviceKind = d.kind; }
  if (summary && !running) {
    if (summary.status === 'ok' || summary.status === 'cancelled' || summary.status === 'failed') info.status = summary.status;
    if (typeof summary.step === 'number') info.step = summary.step;
    if (typeof summary.totalSteps === 'number') info.totalSteps = summary.totalSteps;
    const v = summary.validation;
    if (typeof v === 'object' && v !== null) {
      for (const k of ['i2t_acc1', 't2i_acc1', 'i2t_acc5', 't2i_acc5', 'loss']) {
        const x = (v as Record<string, unknown>)[k];
        if (typeof x === 'number') info.metrics[k] = x;
      }
    }
  }
  return info;
}

export function listRuns(runsFolder: string, isRunning: (dir: string) => boolean): RunInfo[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(runsFolder, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isDirectory())
    .map((e) => path.join(runsFolder, e.name))
    .filter(isRunFolder)
    .map((dir) => readRunInfo(dir, isRunning(dir)))
    .sort((a, b) => a.name.localeCompare(b.name));
}

export function describeMetrics(m: Record<string, number>, max = 2): string {
  return Object.entries(m).filter(([k]) => k !== 'loss').slice(0, max)
    .map(([k, v]) => `${k} ${v <= 1 && !k.includes('loss') ? `${(100 * v).toFixed(1)}%` : v.toFixed(3)}`).join(' · ');
}

// The Slurm executor of `reclf ablate`: which grid tasks still need a run, one array job for
// them, and each task's state from the queue and the run folders. Slurm does the queueing,
// placement and requeueing; this file writes the script, submits it and reads back.
//
// Nothing is half-submitted without a record: slurm.json gets the submission (script, tasks,
// state 'submitting') before sbatch runs and its job id (or sbatch's refusal) after. A process
// killed in between leaves 'submitting': the next look-up finds that job by its unique name.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../core/fs-atomic';
import type { GridTask } from '../../core/eval/ablate';
import type { TaskState } from '../../protocol/events';
import { ablationScript } from './script';
import { ENDED_STATES, findTool, sbatch, squeueByName, SlurmError, type QueueEntry, type SlurmClient } from './cli';
import type { SlurmOptions } from './config';
import {
  finishedMetric, isFailure, lastTaskEvents, latestLog, readAttempts, runProgress, specGrid, SLURM_FILE,
  type AblationSpec, type TaskStatus,
} from './ablation-folder';

export interface Submission {
  n: number;
  at: string;
  script: string;
  /** Grid indices (= array task ids) and their run names. */
  indices: number[];
  runs: string[];
  state: 'submitting' | 'submitted' | 'rejected';
  jobId?: string;
  error?: string;
}

export interface SlurmRecord {
  jobName: string;
  submissions: Submission[];
}

/** A job name unique to this ablation folder: how its jobs are found again without accounting. */
export function jobNameFor(dir: string): string {
  let real = dir;
  try { real = fs.realpathSync(dir); } catch { /* not created yet */ }
  const base = path.basename(real).replace(/[^\w.-]/g, '_').slice(0, 24);
  return `reclf-${base}-${crypto.createHash('sha256').update(real).digest('hex').slice(0, 8)}`;
}

export function readRecord(dir: string): SlurmRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, SLURM_FILE), 'utf8')) as SlurmRecord;
  } catch {
    return undefined;
  }
}

function writeRecord(dir: string, r: SlurmRecord): void {
  writeJsonAtomic(path.join(dir, SLURM_FILE), r);
}

/**
 * The queue's view of this ablation: grid index -> its newest array task. Undefined when the
 * controller cannot be asked (the caller falls back to the files and says so).
 */
export async function queueView(record: SlurmRecord | undefined, client: SlurmClient): Promise<Map<number, QueueEntry & { restarts?: number }>> {
  const out = new Map<number, QueueEntry>();
  if (!record) return out;
  const entries = await squeueByName(record.jobName, client);
  // A submission whose sbatch did not report back (process killed) is adopted by name.
  const known = new Set(record.submissions.map((s) => s.jobId).filter(Boolean));
  const order = new Map(record.submissions.map((s, i) => [s.jobId, i]));
  for (const e of entries) {
    if (e.taskId === undefined) continue;
    const prev = out.get(e.taskId);
    const rank = (x: QueueEntry): number => order.get(x.arrayJobId) ?? (known.has(x.arrayJobId) ? 0 : Number(x.arrayJobId));
    if (!prev || rank(e) >= rank(prev)) out.set(e.taskId, e);
  }
  return out;
}

function queueState(e: QueueEntry): TaskState | undefined {
  if (ENDED_STATES.has(e.state)) return undefined;
  if (/^REQUEUE/.test(e.state)) return 'requeued';
  // A requeued task waits for its new begin time (Slurm delays a requeued job's restart).
  if (e.state === 'PENDING' || e.state === 'CONFIGURING') return e.reason === 'BeginTime' ? 'requeued' : 'queued';
  return 'running';
}

/** The newest submission that included grid index `i`. */
function submissionOf(record: SlurmRecord | undefined, i: number): Submission | undefined {
  return record?.submissions.filter((s) => s.indices.includes(i) && s.state !== 'rejected').at(-1);
}

/**
 * Every grid task's state: finished from its evaluation files; queued, running or requeued from
 * the queue; otherwise from its attempts (failed, cancelled) or never submitted (pending). With
 * no queue (local executor, or controller unreachable) the ablation's own events say what runs.
 */
export function taskStatuses(dir: string, spec: AblationSpec, record: SlurmRecord | undefined, queue: Map<number, QueueEntry> | undefined): TaskStatus[] {
  const events = lastTaskEvents(dir);
  return specGrid(dir, spec).map((t) => {
    const attempts = readAttempts(t.runDir);
    const failures = attempts.filter(isFailure).length;
    const sub = submissionOf(record, t.index);
    const q = queue?.get(t.index);
    const jobId = q?.jobId ?? (sub?.jobId ? `${sub.jobId}_${t.index}` : undefined);
    const base: TaskStatus = { ...t, state: 'pending', failures, ...(jobId ? { jobId } : {}), ...runProgress(t.runDir, spec.tasks) };
    const log = latestLog(t.runDir, attempts);
    if (log) base.log = log;
    const fin = finishedMetric(t, spec.tasks);
    if (fin.done) return { ...base, state: 'finished', ...(fin.metric ? { metric: fin.metric } : {}) };
    const fromQueue = q ? queueState(q) : undefined;
    if (fromQueue) return { ...base, state: fromQueue, ...(q!.reason && q!.reason !== 'None' ? { message: q!.reason } : {}) };
    if (!queue) {
      const ev = events.get(t.name);
      if (ev && (ev.state === 'running' || ev.state === 'queued' || ev.state === 'requeued')) return { ...base, state: ev.state };
    }
    const last = attempts.at(-1);
    if (last) {
      if (isFailure(last)) return { ...base, state: 'failed', message: `exit ${last.exit}${log ? `; log ${log}` : ''}` };
      return { ...base, state: 'cancelled' };
    }
    if (sub) return { ...base, state: 'cancelled', message: `job ${jobId ?? '?'} left the queue without a result${log ? `; log ${log}` : ''}` };
    return base;
  });
}

export interface SubmitPlan {
  submit: GridTask[];
  /** Failed more often than --retry allows: reported, not resubmitted. */
  exhausted: TaskStatus[];
}

/** Which tasks to (re)submit: those never run, cancelled, or failed at most `retry` times. */
export function planSubmission(statuses: readonly TaskStatus[], retry: number): SubmitPlan {
  const plan: SubmitPlan = { submit: [], exhausted: [] };
  for (const s of statuses) {
    if (s.state === 'finished' || s.state === 'queued' || s.state === 'running' || s.state === 'requeued') continue;
    if (s.failures > retry) plan.exhausted.push(s);
    else plan.submit.push(s);
  }
  return plan;
}

/** Submits one array job for `tasks`; records it before and after sbatch. Returns the array job id. */
export async function submitArray(dir: string, spec: AblationSpec, tasks: readonly GridTask[], options: SlurmOptions, client: SlurmClient): Promise<string> {
  const record = readRecord(dir) ?? { jobName: jobNameFor(dir), submissions: [] };
  const n = record.submissions.length + 1;
  const created = new Date().toISOString();
  const script = path.join(dir, 'slurm', `ablation-${n}.sbatch`);
  // The compute nodes find scontrol where this machine does (the same install, as a rule).
  const scontrol = findTool('scontrol', client) ?? 'scontrol';
  const grid = specGrid(dir, spec);
  writeFileAtomic(script, ablationScript({
    dir, jobName: record.jobName, runs: grid.map((t) => t.name), indices: tasks.map((t) => t.index), options, scontrol, created,
  }));
  fs.mkdirSync(path.join(dir, 'slurm', 'logs'), { recursive: true });
  const sub: Submission = { n, at: created, script, indices: tasks.map((t) => t.index), runs: tasks.map((t) => t.name), state: 'submitting' };
  record.submissions.push(sub);
  return recordedSbatch(sub, () => writeRecord(dir, record), client, options);
}

/**
 * sbatch with the submission saved before (state 'submitting') and after (submitted with its job
 * id, or rejected with Slurm's reason), so nothing is half-submitted without a record.
 */
export async function recordedSbatch(sub: Submission, save: () => void, client: SlurmClient, options: SlurmOptions): Promise<string> {
  save();
  try {
    sub.jobId = await sbatch(sub.script, client, { partition: options.partition, sbatchLines: options.sbatchLines });
    sub.state = 'submitted';
    return sub.jobId;
  } catch (e) {
    sub.state = 'rejected';
    sub.error = (e as Error).message;
    throw e;
  } finally {
    save();
  }
}

/** The array job ids of this ablation still known to the queue (for scancel). */
export function activeJobIds(statuses: readonly TaskStatus[]): string[] {
  return statuses.filter((s) => s.jobId && (s.state === 'queued' || s.state === 'running' || s.state === 'requeued')).map((s) => s.jobId!);
}

export { SlurmError };

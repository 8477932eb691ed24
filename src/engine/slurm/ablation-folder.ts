// What an ablation folder records about its grid, whichever executor runs it:
//   ablation-spec.json  the grid (data, variants, seeds, budget, evaluation): what a Slurm task, a
//                       `--collect` and `reclf jobs` read instead of the command line
//   events.jsonl        ablation_started / ablation_task events, appended by the submitting
//                       process and by each task (an editor watches this file)
//   slurm.json          every sbatch submission, written before and after sbatch runs
//   RUN/slurm-attempts.jsonl  one line per attempt of a Slurm task (exit status), by its job script
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from '../../core/errors';
import { toWriteError, writeJsonAtomic } from '../../core/fs-atomic';
import { ablationGrid, keyMetric, missingEvalTasks, readTaskSummary, trainingFinished, type GridTask, type NamedVariants } from '../../core/eval/ablate';
import type { TaskName } from '../../core/eval/tasks';
import { stableStringify } from '../../core/train/run-config';
import type { AblationTaskEvent, EngineEvent, ProgressEvent, TaskState } from '../../protocol/events';

export const SPEC_FILE = 'ablation-spec.json';
export const EVENTS_FILE = 'events.jsonl';
export const SLURM_FILE = 'slurm.json';
export const ATTEMPTS_FILE = 'slurm-attempts.jsonl';
/** Left by the job script when the time signal came: the task's cancel is a requeue. */
export const REQUEUE_MARKER = '.requeue';

export interface AblationSpec {
  version: 1;
  data: string;
  methods: string[];
  seeds: number;
  budget: number;
  baseConfig?: Record<string, unknown>;
  variants?: NamedVariants;
  tasks?: TaskName[];
  split: 'train' | 'valid' | 'test';
  evalSeeds: number;
  backend?: string;
}

export function readSpec(dir: string): AblationSpec | undefined {
  const file = path.join(dir, SPEC_FILE);
  if (!fs.existsSync(file)) return undefined;
  let raw: AblationSpec;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8')) as AblationSpec;
  } catch (e) {
    throw new ConfigError(`${file}: not readable as JSON (${(e as Error).message.split('\n')[0]})`, 'out');
  }
  if (raw.version !== 1 || !Array.isArray(raw.methods) || typeof raw.data !== 'string') throw new ConfigError(`${file}: not an ablation spec this engine knows`, 'out');
  return raw;
}

/**
 * An ablation folder holds one grid: the same data, budget, shared config, variant definitions
 * and evaluation protocol. Variants, seeds and tasks may be added (the missing runs are made);
 * anything that would change runs already made is refused, naming the setting.
 */
export function checkSameGrid(dir: string, before: AblationSpec, now: AblationSpec): void {
  const same = (a: unknown, b: unknown): boolean => stableStringify(a ?? null) === stableStringify(b ?? null);
  const fixed: [string, unknown, unknown][] = [
    ['--data', before.data, now.data],
    ['--budget', before.budget, now.budget],
    ['--config', before.baseConfig, now.baseConfig],
    ['--split', before.split, now.split],
    ['--eval-seeds', before.evalSeeds, now.evalSeeds],
  ];
  for (const name of now.methods) {
    if (before.methods.includes(name)) fixed.push([`--variants (${name})`, before.variants?.[name], now.variants?.[name]]);
  }
  for (const [flag, a, b] of fixed) {
    if (!same(a, b)) {
      throw new ConfigError(`${dir} holds an ablation made with a different ${flag} (${path.join(dir, SPEC_FILE)}): rerun with the same arguments, or choose another --out`, 'out');
    }
  }
}

export function writeSpec(dir: string, spec: AblationSpec): void {
  writeJsonAtomic(path.join(dir, SPEC_FILE), spec);
}

/**
 * Appends one JSON line with a single write on an O_APPEND descriptor: lines from the submitting
 * process and from tasks running at the same time do not interleave on a local file system
 * (nor on NFS with close-to-open consistency, for lines this short in practice).
 */
export function appendEventLine(file: string, event: EngineEvent): void {
  const buf = Buffer.from(JSON.stringify(event) + '\n', 'utf8');
  let fd: number | undefined;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fd = fs.openSync(file, 'a');
    const n = fs.writeSync(fd, buf, 0, buf.length);
    if (n !== buf.length) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
  } catch (e) {
    throw toWriteError(file, e);
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Every engine event of a JSONL file (torn or foreign lines skipped). */
export function readEvents(file: string): EngineEvent[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  const out: EngineEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const e = JSON.parse(line) as EngineEvent;
      if (typeof e.type === 'string') out.push(e);
    } catch {
      /* a line torn by a full disk */
    }
  }
  return out;
}

export interface Attempt {
  job: string;
  restart: number;
  exit: number;
  requeue: number;
  time: string;
}

export function readAttempts(runDir: string): Attempt[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(runDir, ATTEMPTS_FILE), 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((l) => l.startsWith('{')).flatMap((l) => {
    try { return [JSON.parse(l) as Attempt]; } catch { return []; }
  });
}

/** An attempt that failed: not finished (0), not stopped by a signal (130, 143), not requeued. */
export function isFailure(a: Attempt): boolean {
  return a.requeue !== 1 && a.exit !== 130 && a.exit !== 143 && !(a.exit === 0);
}

/** The log of a run's latest Slurm attempt (RUN/slurm-JOB.log), if any. */
export function latestLog(runDir: string, attempts: readonly Attempt[] = readAttempts(runDir)): string | undefined {
  const last = attempts.at(-1);
  if (last) return path.join(runDir, `slurm-${last.job}.log`);
  try {
    const logs = fs.readdirSync(runDir).filter((f) => /^slurm-.*\.log$/.test(f)).map((f) => path.join(runDir, f));
    return logs.sort((a, b) => fs.statSync(a).mtimeMs - fs.statSync(b).mtimeMs).at(-1);
  } catch {
    return undefined;
  }
}

/** A grid task as `reclf jobs` and the resubmission see it. */
export interface TaskStatus extends GridTask {
  state: TaskState;
  jobId?: string;
  /** Failed attempts so far. */
  failures: number;
  log?: string;
  message?: string;
  metric?: { name: string; value: number };
  /** Training progress from the run's events, and the time left. */
  step?: number;
  totalSteps?: number;
  etaS?: number;
  /** Evaluation tasks written of those asked for. */
  evalDone?: number;
  evalTotal?: number;
}

/** What the run folder says about progress: the last progress event, its age-corrected ETA. */
export function runProgress(runDir: string, tasks: readonly TaskName[] | undefined, now = Date.now()): Pick<TaskStatus, 'step' | 'totalSteps' | 'etaS' | 'evalDone' | 'evalTotal'> {
  const file = path.join(runDir, 'events.jsonl');
  const progress = readEvents(file).filter((e): e is ProgressEvent => e.type === 'progress').at(-1);
  const out: ReturnType<typeof runProgress> = {};
  if (progress) {
    out.step = progress.step;
    out.totalSteps = progress.total_steps;
    let age = 0;
    try { age = (now - fs.statSync(file).mtimeMs) / 1000; } catch { /* gone */ }
    out.etaS = Math.max(0, Math.round(progress.eta_s - age));
  }
  if (trainingFinished(runDir)) {
    const asked = tasks?.length;
    const missing = missingEvalTasks(runDir, tasks).length;
    if (asked !== undefined) {
      out.evalTotal = asked;
      out.evalDone = asked - missing;
    }
  }
  return out;
}

/** The last state the ablation's events.jsonl gave each run (by run folder). */
export function lastTaskEvents(dir: string): Map<string, AblationTaskEvent> {
  const m = new Map<string, AblationTaskEvent>();
  for (const e of readEvents(path.join(dir, EVENTS_FILE))) if (e.type === 'ablation_task') m.set(path.basename(e.run_dir), e);
  return m;
}

/** The grid of a spec, in the folder `dir`. */
export function specGrid(dir: string, spec: AblationSpec): GridTask[] {
  return ablationGrid(spec.methods, spec.seeds, dir);
}

/** Whether the run is evaluated on every task asked for, and its key metric. */
export function finishedMetric(t: GridTask, tasks: readonly TaskName[] | undefined): { done: boolean; metric?: { name: string; value: number } } {
  if (missingEvalTasks(t.runDir, tasks).length) return { done: false };
  return { done: true, metric: keyMetric(readTaskSummary(t.runDir).results) };
}

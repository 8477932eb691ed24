// The one source of truth for run state in the editor: every run folder (and ablation folder)
// under the runs folder, its events.jsonl read from the start and then followed, folded into a
// JobStatus per job (training in RUN/events.jsonl, evaluation in RUN/eval/events.jsonl, an
// ablation's grid in ABLATION/events.jsonl). The runs tree, the panel and the notifications read
// this store, so they always agree. Pure Node (no `vscode`): fs.watch for promptness, polling
// because fs.watch misses appends on network drives, in containers and on some editors' mounts.
import fs from 'node:fs';
import path from 'node:path';
import type { EngineEvent, JobKind } from '../protocol/events';
import { parseEngineEvent } from '../protocol/events';
import { FileTail } from './events-tail';
import { applyEvents, emptyJob, settleState, type JobState, type JobStatus } from './run-state';
import { readRunInfo, type RunInfo, type RunState } from './run-info';
import { SLURM_RECORD } from './slurm';

export type EntryKind = 'run' | 'ablation';

/** A run or ablation folder as the tree shows it: static facts (run-info) plus live job state. */
export interface RunEntry extends RunInfo {
  kind: EntryKind;
  /** Training (a run) or the grid (an ablation), from the folder's events.jsonl. */
  job: JobStatus;
  /** The latest evaluation of a run, from RUN/eval/events.jsonl. */
  evalJob?: JobStatus;
  /** Tasks with a result file in RUN/eval. */
  evalTasks: string[];
  /** An ablation's variant x seed runs (folders found, or announced by its events). */
  children?: RunEntry[];
  /** When the folder's events.jsonl last changed (ms since epoch; 0: no events). */
  eventsMtimeMs: number;
  /** The latest Slurm job id the engine recorded for this folder (slurm.json), if it was submitted. */
  slurmJob?: string;
}

export interface StoreEvents { dir: string; job: JobKind; events: EngineEvent[]; reset: boolean }

export interface RunStoreOptions {
  /** The runs folder (read on every scan: the setting may change). */
  folder(): string | undefined;
  /** Whether a process this window started is working in `dir`. */
  isRunning(dir: string): boolean;
  /** Fallback poll period (ms). */
  pollMs?: number;
  /** A job nobody here started counts as running while its events are younger than this (ms). */
  freshMs?: number;
  now?(): number;
  /** fs.watch can be turned off (tests of the polling path). */
  watch?: boolean;
}

/** One events file of a folder, followed from its start and folded into a job status. */
class JobFile {
  readonly status: JobStatus;
  private readonly pending: EngineEvent[] = [];
  private readonly tail: FileTail;

  constructor(readonly file: string, kind: JobKind) {
    this.status = emptyJob(kind);
    this.tail = new FileTail(file, 0, (line) => { const e = parseEngineEvent(line); if (e) this.pending.push(e); });
  }

  /** Events appended since the last read, already folded in (reset: the file was read from its start). */
  read(): { events: EngineEvent[]; reset: boolean } | undefined {
    const before = this.tail.offset;
    this.tail.poll();
    if (!this.pending.length) return undefined;
    const events = this.pending.splice(0);
    applyEvents(this.status, events);
    return { events, reset: before === 0 };
  }
}

interface Tracked {
  dir: string;
  main: JobFile;
  evaluation?: JobFile;
  watcher?: fs.FSWatcher;
  /** Parent ablation folder, for the runs inside one. */
  parent?: string;
}

type Listener<T> = (e: T) => void;

class Emitter<T> {
  private readonly listeners = new Set<Listener<T>>();
  readonly event = (l: Listener<T>): { dispose(): void } => {
    this.listeners.add(l);
    return { dispose: () => this.listeners.delete(l) };
  };
  fire(e: T): void { for (const l of [...this.listeners]) l(e); }
  clear(): void { this.listeners.clear(); }
}

const EVENTS = 'events.jsonl';
const SEED_DIR = /-seed\d+$/;

function isDir(p: string): boolean {
  try { return fs.statSync(p).isDirectory(); } catch { return false; }
}

function mtime(p: string): number {
  try { return fs.statSync(p).mtimeMs; } catch { return 0; }
}

function subdirs(dir: string): string[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name)).sort();
  } catch {
    return [];
  }
}

/** An ablation's output folder: its grid events, its summary, or variant-seedN run folders inside. */
export function isAblationFolder(dir: string, job?: JobStatus): boolean {
  if (job?.kind === 'ablation') return true;
  if (fs.existsSync(path.join(dir, 'ablation.json'))) return true;
  return subdirs(dir).some((d) => SEED_DIR.test(path.basename(d)) && (fs.existsSync(path.join(d, 'config.json')) || fs.existsSync(path.join(d, EVENTS))));
}

function isCandidate(dir: string): boolean {
  return fs.existsSync(path.join(dir, 'config.json')) || fs.existsSync(path.join(dir, EVENTS)) || fs.existsSync(path.join(dir, SLURM_RECORD)) || isAblationFolder(dir);
}

/**
 * The job id of the latest accepted submission in DIR/slurm.json (the engine's record of what it
 * handed to Slurm); undefined when the folder was never submitted.
 */
export function slurmJobOf(dir: string): string | undefined {
  let record: unknown;
  try { record = JSON.parse(fs.readFileSync(path.join(dir, SLURM_RECORD), 'utf8')); } catch { return undefined; }
  const subs = (record as { submissions?: unknown }).submissions;
  if (!Array.isArray(subs)) return undefined;
  for (let i = subs.length - 1; i >= 0; i--) {
    const id = (subs[i] as { jobId?: unknown }).jobId;
    if (typeof id === 'string' && id) return id;
  }
  return undefined;
}

/** A Slurm ablation holds cells the scheduler still owns (queued, running or requeued). */
function slurmCellsActive(job: JobStatus): boolean {
  const a = job.ablation;
  return !!a && a.executor === 'slurm' && Object.values(a.cells).some((c) => c.state === 'queued' || c.state === 'running' || c.state === 'requeued');
}

/** Reads a whole events file (a run's history across resumes, for the panel's curves). */
export function readEventsFile(file: string): EngineEvent[] {
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch { return []; }
  const out: EngineEvent[] = [];
  for (const line of text.split('\n')) {
    const e = parseEngineEvent(line);
    if (e) out.push(e);
  }
  return out;
}

const RUN_STATE: Record<JobState, RunState> = {
  running: 'running', finished: 'ok', cancelled: 'cancelled', failed: 'failed', requeued: 'requeued', incomplete: 'incomplete',
};

export class RunStore {
  private readonly tracked = new Map<string, Tracked>();
  private readonly changed = new Emitter<void>();
  private readonly eventsOut = new Emitter<StoreEvents>();
  /** Something changed (a run appeared, went, or wrote events). */
  readonly onDidChange = this.changed.event;
  /** New events of a job, in order (reset: the file was read from its start). */
  readonly onEvents = this.eventsOut.event;
  private timer: ReturnType<typeof setInterval> | undefined;
  private folderWatcher: fs.FSWatcher | undefined;
  private watchedFolder: string | undefined;
  private watchedExists = false;
  private scheduled: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly o: RunStoreOptions) {}

  /** Starts following the runs folder (first scan now). */
  start(): this {
    this.scan();
    this.timer ??= setInterval(() => this.scan(), this.o.pollMs ?? 1000);
    return this;
  }

  /** A change will be looked at soon (coalesces bursts of fs.watch callbacks). */
  poke(): void {
    if (this.scheduled) return;
    this.scheduled = setTimeout(() => { this.scheduled = undefined; this.scan(); }, 30);
  }

  /** Finds new and removed folders and reads what each events file gained; fires once if anything changed. */
  scan(): boolean {
    const folder = this.o.folder();
    let changed = this.watchFolder(folder);
    const seen = new Set<string>();
    const visit = (dir: string, parent?: string): void => {
      seen.add(dir);
      let t = this.tracked.get(dir);
      if (!t) {
        t = this.track(dir, parent);
        changed = true;
      }
      if (this.readTails(t)) changed = true;
      if (!parent && isAblationFolder(dir, t.main.status)) for (const child of subdirs(dir)) if (isCandidate(child)) visit(child, dir);
    };
    // A folder a job of this window works in counts before its engine has written anything.
    if (folder) for (const dir of subdirs(folder)) if (isCandidate(dir) || this.o.isRunning(dir)) visit(dir);
    for (const [dir, t] of this.tracked) {
      if (!seen.has(dir)) { t.watcher?.close(); this.tracked.delete(dir); changed = true; }
    }
    if (changed) this.changed.fire();
    return changed;
  }

  /** Watches the runs folder (again when the setting changed or the folder appeared); true when it changed. */
  private watchFolder(folder: string | undefined): boolean {
    const exists = !!folder && isDir(folder);
    if (folder === this.watchedFolder && exists === this.watchedExists) return false;
    this.folderWatcher?.close();
    this.folderWatcher = undefined;
    this.watchedFolder = folder;
    this.watchedExists = exists;
    if (folder && isDir(folder) && this.o.watch !== false) {
      try { this.folderWatcher = fs.watch(folder, () => this.poke()); } catch { /* polling covers it */ }
    }
    return true;
  }

  private track(dir: string, parent?: string): Tracked {
    const t: Tracked = { dir, parent, main: new JobFile(path.join(dir, EVENTS), 'train') };
    if (this.o.watch !== false) {
      try { t.watcher = fs.watch(dir, () => this.poke()); } catch { /* polling covers it */ }
    }
    this.tracked.set(dir, t);
    return t;
  }

  private readTails(t: Tracked): boolean {
    let changed = false;
    const main = t.main.read();
    if (main) {
      this.eventsOut.fire({ dir: t.dir, job: t.main.status.kind, ...main });
      changed = true;
    }
    // An evaluation of this run writes its own events file in RUN/eval.
    const evalFile = path.join(t.dir, 'eval', EVENTS);
    if (!t.evaluation && fs.existsSync(evalFile)) t.evaluation = new JobFile(evalFile, 'eval');
    const ev = t.evaluation?.read();
    if (ev) {
      t.evaluation!.status.kind = 'eval';
      this.eventsOut.fire({ dir: t.dir, job: 'eval', ...ev });
      changed = true;
    }
    return changed;
  }

  private alive(dir: string, eventsFile: string): boolean {
    if (this.o.isRunning(dir)) return true;
    const m = mtime(eventsFile);
    return m > 0 && (this.o.now?.() ?? Date.now()) - m < (this.o.freshMs ?? 5 * 60_000);
  }

  private entry(t: Tracked): RunEntry {
    const eventsFile = path.join(t.dir, EVENTS);
    const main = t.main.status;
    const slurmJob = slurmJobOf(t.dir);
    // Jobs handed to Slurm may wait in the queue for hours without writing anything: while the
    // scheduler holds them (a submitted run not started yet, an ablation's queued or running
    // cells) they are alive whatever the age of their events; the tasks write how they end.
    const alive = this.alive(t.dir, eventsFile) || (!!slurmJob && !main.started) || slurmCellsActive(main);
    const kind: EntryKind = !t.parent && isAblationFolder(t.dir, main) ? 'ablation' : 'run';
    const job: JobStatus = { ...main, state: main.started ? settleState(main, alive) : (alive ? 'running' : 'incomplete') };
    if (kind === 'ablation') job.kind = 'ablation';
    const info = readRunInfo(t.dir, job.state === 'running');
    const ev = t.evaluation?.status;
    const evalJob = ev?.started ? { ...ev, state: settleState(ev, this.alive(t.dir, path.join(t.dir, 'eval', EVENTS))) } : undefined;
    let evalTasks: string[] = [];
    try {
      evalTasks = fs.readdirSync(path.join(t.dir, 'eval')).filter((f) => f.endsWith('.json') && f !== 'summary.json').map((f) => f.slice(0, -5)).sort();
    } catch { /* not evaluated */ }
    const e: RunEntry = {
      ...info, kind, job, evalTasks, eventsMtimeMs: mtime(eventsFile),
      ...(evalJob ? { evalJob } : {}),
      ...(slurmJob ? { slurmJob } : {}),
    };
    // Live state wins over the files' (train-summary.json is written only at the end).
    if (job.started || kind === 'ablation') e.status = RUN_STATE[job.state];
    if (job.step !== undefined && job.state === 'running') { e.step = job.step; e.totalSteps = job.totalSteps; }
    if (job.error && job.state === 'failed') e.error = job.error;
    if (kind === 'ablation') {
      const children = [...this.tracked.values()].filter((c) => c.parent === t.dir).map((c) => this.entry(c));
      e.children = children;
      e.method = undefined;
    }
    return e;
  }

  /** Top-level runs and ablations, by name. */
  list(): RunEntry[] {
    return [...this.tracked.values()].filter((t) => !t.parent).map((t) => this.entry(t)).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Every run, ablation runs included (pickers: evaluate, explain, compare). */
  allRuns(): RunEntry[] {
    return this.list().flatMap((e) => (e.kind === 'ablation' ? e.children ?? [] : [e]));
  }

  get(dir: string): RunEntry | undefined {
    const t = this.tracked.get(path.resolve(dir)) ?? this.tracked.get(dir);
    return t ? this.entry(t) : undefined;
  }

  /** The whole history of a job of `dir`, from the start of its events file. */
  history(dir: string, job: 'train' | 'eval' | 'ablation'): EngineEvent[] {
    return readEventsFile(job === 'eval' ? path.join(dir, 'eval', EVENTS) : path.join(dir, EVENTS));
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.scheduled) clearTimeout(this.scheduled);
    this.folderWatcher?.close();
    for (const t of this.tracked.values()) t.watcher?.close();
    this.tracked.clear();
    this.changed.clear();
    this.eventsOut.clear();
  }
}

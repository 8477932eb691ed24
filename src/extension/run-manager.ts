// Runs engine commands with cancellable progress, engine stderr in a LogOutputChannel, and
// runs with a run folder (train, resume) detached and persisted in workspaceState so that a
// window reload re-attaches to them by tailing RUN/events.jsonl while their pid is alive.
import * as vscode from 'vscode';
import path from 'node:path';
import fs from 'node:fs';
import type { EngineEvent, JobKind, RunStatus } from '../protocol/events';
import { parseEngineEvent } from '../protocol/events';
import { deviceLabel } from '../protocol/device';
import { engineLaunch, isAlive, killTree, startEngine, type EngineExit } from './engine-process';
import { FileTail, fileSize } from './events-tail';
import { EngineLogFilter, runHeaderLine } from './log-filter';
import { ablationCounts, applyEvents, describeProgress, emptyJob, formatEta, type JobStatus } from './run-state';
import { readSettings } from './settings';

export { formatEta };

export interface RunRequest {
  /** Shown in the progress notification and in messages, e.g. "Train reclf". */
  title: string;
  /** CLI arguments after the engine script, e.g. ['train', '--data', D, '--out', R]. */
  args: string[];
  /** Set for runs that own a run folder: detached, persisted, events read from its events.jsonl. */
  runDir?: string;
  /**
   * The folder a pipe-attached job works in (an evaluation's run, an ablation's output): the job
   * counts as running there (isRunning), so the runs tree shows it busy.
   */
  folder?: string;
  /** What the job is (its notification reads its progress accordingly); default from its events. */
  kind?: JobKind;
  cwd?: string;
  /** No notification (hover explanations run in the background). */
  silent?: boolean;
}

export interface RunOutcome {
  status: RunStatus;
  exit: EngineExit;
  events: EngineEvent[];
  /** Stdout lines that were not events (the `--json` data of a command). */
  stdout: string[];
  error?: string;
}

/** What survives a reload, per detached run. */
export interface PersistedRun {
  pid: number;
  runDir: string;
  title: string;
  eventsOffset: number;
  logOffset: number;
  startedAt: number;
  /** The run's device label once its run_started was read (a reload re-attaches past that event). */
  device?: string;
}

const STATE_KEY = 'reclf.activeRuns';

export interface RunManagerDeps {
  workspaceState: vscode.Memento;
  log: vscode.LogOutputChannel;
  /** dist/engine/reclf.cjs */
  enginePath: string;
  /** Defaults to process.execPath / process.env. */
  execPath?: string;
  env?: NodeJS.ProcessEnv;
  /** SIGTERM -> SIGKILL grace on cancel. */
  killGraceMs?: number;
  /** Poll period for detached runs (ms). */
  pollMs?: number;
}

interface ActiveRun {
  key: string;
  title: string;
  /** The run folder (detached runs) or the folder a pipe-attached job works in. */
  runDir?: string;
  /** Detached runs outlive the window; pipe-attached ones are cancelled with it. */
  detached: boolean;
  pid: number;
  cancel(): Promise<void>;
}

/**
 * The notification's message after an event, from the job's folded status (the same fold the
 * runs tree shows): training "step 30/90 · loss 11.2 · ETA 1m 5s", evaluation "task grounding
 * (3/7) · ETA 40s", ablation "run 3 of 4: reclf seed 0 · 2 done"; `device` ends the line.
 * Events that change none of that (checkpoints, metrics, warnings) keep the current message.
 */
export function progressMessage(e: EngineEvent, device?: string, status?: JobStatus): string | undefined {
  const on = device ? ` · ${device}` : '';
  if (e.type === 'run_started') {
    const label = deviceLabel(e.backend, e.device, e.adapter);
    return label ? `started on ${label}` : undefined;
  }
  if (e.type === 'progress' || e.type === 'eval_progress' || e.type === 'ablation_started' || e.type === 'ablation_task') {
    return describeProgress(status ?? applyEvents(emptyJob(e.type === 'progress' ? 'train' : e.type === 'eval_progress' ? 'eval' : 'ablation'), [e])) + on;
  }
  return undefined;
}

/** How far the job is, 0..100, when its events say (steps, tasks, runs of the grid). */
export function progressPercent(s: JobStatus): number | undefined {
  if (s.kind === 'ablation' && s.ablation && s.ablation.total > 0) return (100 * ablationCounts(s.ablation).done) / s.ablation.total;
  if (s.kind === 'eval' && s.evalTask && s.evalTask.total > 0) return (100 * (s.evalTask.index - 1)) / s.evalTask.total;
  if (s.step !== undefined && s.totalSteps) return Math.min(100, (100 * s.step) / s.totalSteps);
  return undefined;
}

/** Status from the events and the exit: run_finished wins, then the exit code. */
export function outcomeOf(events: EngineEvent[], exit: EngineExit, cancelled: boolean, stderrTail: string): Omit<RunOutcome, 'events' | 'stdout' | 'exit'> {
  const finished = [...events].reverse().find((e) => e.type === 'run_finished');
  const errorEvent = [...events].reverse().find((e) => e.type === 'error');
  const lastStderr = stderrTail.split('\n').map((l) => l.trim()).filter(Boolean).pop();
  let status: RunStatus;
  if (finished && finished.type === 'run_finished') status = finished.status;
  else if (cancelled) status = 'cancelled';
  else status = exit.code === 0 ? 'ok' : 'failed';
  if (status !== 'failed') return { status };
  const error = (errorEvent && errorEvent.type === 'error' ? errorEvent.message : undefined)
    ?? lastStderr ?? `engine exited with ${exit.signal ?? `code ${exit.code}`}`;
  return { status, error };
}

export class RunManager implements vscode.Disposable {
  private readonly active = new Map<string, ActiveRun>();
  private readonly eventsEmitter = new vscode.EventEmitter<{ runDir?: string; title: string; events: EngineEvent[]; reset: boolean }>();
  private readonly changeEmitter = new vscode.EventEmitter<void>();
  /** Events of every run as they arrive (the panel draws live curves from them). */
  readonly onEvents = this.eventsEmitter.event;
  /** A run started or ended (the runs tree refreshes). */
  readonly onDidChangeRuns = this.changeEmitter.event;
  private nextKey = 1;
  private disposed = false;
  private readonly logFilter = new EngineLogFilter();
  /** Each job's status folded from its events (the notification's text). */
  private readonly statuses = new Map<string, JobStatus>();

  constructor(private readonly deps: RunManagerDeps) {}

  get running(): ReadonlyArray<{ key: string; title: string; runDir?: string; pid: number }> {
    return [...this.active.values()].map(({ key, title, runDir, pid }) => ({ key, title, runDir, pid }));
  }

  /** The backend probe list of the latest engine start, for "Show Backend Probes". */
  get backendProbes(): string[] {
    return this.logFilter.lastProbes;
  }

  isRunning(runDir: string): boolean {
    return [...this.active.values()].some((r) => r.runDir && path.resolve(r.runDir) === path.resolve(runDir));
  }

  /** Starts an engine command; resolves when it ends (never rejects for an engine failure). */
  async start(req: RunRequest): Promise<RunOutcome> {
    if (req.runDir && this.isRunning(req.runDir)) {
      throw new Error(`a run is already going in ${req.runDir}`);
    }
    const s = readSettings();
    const launch = engineLaunch({
      nodePath: s.nodePath, execPath: this.deps.execPath ?? process.execPath, enginePath: this.deps.enginePath,
      nodeArgs: s.engineArgs, env: this.deps.env ?? process.env,
    }, req.args);
    this.deps.log.info(`$ ${[launch.command, ...launch.args].map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}`);
    if (!fs.existsSync(this.deps.enginePath)) {
      const error = `engine bundle not found at ${this.deps.enginePath} (run "npm run build")`;
      this.deps.log.error(error);
      return this.report(req, { status: 'failed', error, events: [], stdout: [], exit: { code: -1, signal: null } });
    }
    if (req.runDir) return this.startDetached(req, launch);

    const events: EngineEvent[] = [];
    const stdout: string[] = [];
    let stderrTail = '';
    const key = String(this.nextKey++);
    const proc = startEngine(launch, {
      cwd: req.cwd,
      onEvent: (e) => { events.push(e); this.eventsEmitter.fire({ title: req.title, events: [e], reset: events.length === 1 }); this.onProgressEvent(req, key, e); },
      onStdoutLine: (l) => stdout.push(l),
      onStderr: (t) => { stderrTail = (stderrTail + t).slice(-4000); this.logStderr(t); },
    });
    let cancelled = false;
    const cancel = async (): Promise<void> => { cancelled = true; await proc.cancel(this.deps.killGraceMs); };
    this.track({ key, title: req.title, runDir: req.folder, detached: false, pid: proc.pid, cancel });
    const exit = await this.withProgress(req, cancel, proc.exited, key);
    this.untrack(key);
    return this.report(req, { ...outcomeOf(events, exit, cancelled, stderrTail), events, stdout, exit });
  }

  private async startDetached(req: RunRequest, launch: ReturnType<typeof engineLaunch>): Promise<RunOutcome> {
    const runDir = req.runDir!;
    fs.mkdirSync(runDir, { recursive: true });
    const logFile = path.join(runDir, 'engine.log');
    const persisted: PersistedRun = {
      pid: -1, runDir, title: req.title, startedAt: Date.now(),
      eventsOffset: fileSize(path.join(runDir, 'events.jsonl')), logOffset: fileSize(logFile),
    };
    const proc = startEngine(launch, { cwd: req.cwd, detachedLogFile: logFile });
    persisted.pid = proc.pid;
    let exited = false;
    void proc.exited.then(() => { exited = true; });
    return this.follow(req, persisted, () => exited, proc.exited, (grace) => proc.cancel(grace));
  }

  /** Re-attaches to the detached runs of a previous window whose engine is still alive. */
  reattach(): Array<Promise<RunOutcome>> {
    const saved = this.deps.workspaceState.get<PersistedRun[]>(STATE_KEY, []);
    const alive = saved.filter((r) => isAlive(r.pid) && fs.existsSync(r.runDir));
    void this.deps.workspaceState.update(STATE_KEY, alive);
    return alive.map((r) => {
      this.deps.log.info(`re-attaching to ${r.title} (pid ${r.pid}) in ${r.runDir}`);
      const exitedByPoll = new Promise<EngineExit>((resolve) => {
        const t = setInterval(() => {
          if (this.disposed || !isAlive(r.pid)) { clearInterval(t); resolve({ code: null, signal: null }); }
        }, this.deps.pollMs ?? 1000);
      });
      return this.follow({ title: r.title, args: [], runDir: r.runDir }, r, () => !isAlive(r.pid), exitedByPoll,
        (grace) => killTree(r.pid, grace));
    });
  }

  private async follow(
    req: RunRequest, run: PersistedRun, gone: () => boolean, exited: Promise<EngineExit>,
    kill: (graceMs?: number) => Promise<void>,
  ): Promise<RunOutcome> {
    const events: EngineEvent[] = [];
    let stderrTail = '';
    const key = String(this.nextKey++);
    if (run.device) this.devices.set(key, run.device);
    const eventsTail = new FileTail(path.join(run.runDir, 'events.jsonl'), run.eventsOffset, (line) => {
      const e = parseEngineEvent(line);
      if (!e) return;
      events.push(e);
      this.eventsEmitter.fire({ runDir: run.runDir, title: run.title, events: [e], reset: events.length === 1 });
      this.onProgressEvent(req, key, e);
    }).start(this.deps.pollMs ?? 250);
    const logTail = new FileTail(path.join(run.runDir, 'engine.log'), run.logOffset, (line) => {
      stderrTail = (stderrTail + line + '\n').slice(-4000);
      this.logStderr(line + '\n');
    }).start(this.deps.pollMs ?? 250);
    const save = (): void => {
      const others = this.deps.workspaceState.get<PersistedRun[]>(STATE_KEY, []).filter((r) => r.runDir !== run.runDir);
      const device = this.devices.get(key) ?? run.device;
      void this.deps.workspaceState.update(STATE_KEY, [...others, { ...run, eventsOffset: eventsTail.offset, logOffset: logTail.offset, ...(device ? { device } : {}) }]);
    };
    save();
    // Offsets advance as the run goes: persist them now and then so a reload does not replay.
    const saver = setInterval(save, 5000);
    let cancelled = false;
    const cancel = async (): Promise<void> => { cancelled = true; await kill(this.deps.killGraceMs); };
    this.track({ key, title: run.title, runDir: run.runDir, detached: true, pid: run.pid, cancel });
    const exit = await this.withProgress(req, cancel, exited, key);
    clearInterval(saver);
    eventsTail.stop();
    logTail.stop();
    this.untrack(key);
    if (this.disposed && !gone()) return { status: 'cancelled', events, stdout: [], exit }; // window closing: the run goes on
    void this.deps.workspaceState.update(STATE_KEY,
      this.deps.workspaceState.get<PersistedRun[]>(STATE_KEY, []).filter((r) => r.runDir !== run.runDir));
    return this.report(req, { ...outcomeOf(events, exit, cancelled, stderrTail), events, stdout: [], exit });
  }

  private progressSinks = new Map<string, (e: EngineEvent) => void>();
  /** Run key -> device label ("NVIDIA H100", "software GPU (llvmpipe)", "cpu"), from its run_started. */
  private readonly devices = new Map<string, string>();

  private onProgressEvent(req: RunRequest, key: string, e: EngineEvent): void {
    let status = this.statuses.get(key);
    if (!status) this.statuses.set(key, status = emptyJob(req.kind ?? 'train'));
    applyEvents(status, [e]);
    if (e.type === 'run_started') {
      const label = deviceLabel(e.backend, e.device, e.adapter);
      if (label) this.devices.set(key, label);
      // The run's own line at the top of its log: which backend, on what, resumed where.
      for (const l of this.logFilter.flush()) this.deps.log.info(l.text);
      if (!req.silent) this.deps.log.info(runHeaderLine(req.title, e.backend, e.device, e.resumed_from_step));
    }
    this.progressSinks.get(key)?.(e);
    if (e.type === 'warning') this.deps.log.warn(e.record ? `${e.record}: ${e.message}` : e.message);
    if (e.type === 'error') this.deps.log.error(`${req.title}: ${e.message}`);
  }

  private withProgress(req: RunRequest, cancel: () => Promise<void>, exited: Promise<EngineExit>, key: string): Promise<EngineExit> {
    if (req.silent) return exited;
    return Promise.resolve(vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `RECLF: ${req.title}`, cancellable: true },
      async (progress, token) => {
        let lastPct = 0;
        // Events of other concurrent runs must not move this bar: events are routed by run key.
        this.progressSinks.set(key, (e) => {
          if (this.active.get(key) === undefined) return;
          const status = this.statuses.get(key);
          const message = progressMessage(e, this.devices.get(key), status);
          if (!message) return;
          let increment: number | undefined;
          const pct = status ? progressPercent(status) : undefined;
          if (pct !== undefined) {
            increment = Math.max(0, pct - lastPct);
            lastPct = Math.max(lastPct, pct);
          }
          progress.report({ message, increment });
        });
        const sub = token.onCancellationRequested(() => {
          progress.report({ message: 'cancelling: checkpointing, then stopping…' });
          void cancel();
        });
        try {
          return await exited;
        } finally {
          sub.dispose();
          this.progressSinks.delete(key);
        }
      },
    ));
  }

  private track(r: ActiveRun): void {
    this.active.set(r.key, r);
    this.changeEmitter.fire();
  }

  private untrack(key: string): void {
    this.active.delete(key);
    this.devices.delete(key);
    this.statuses.delete(key);
    this.changeEmitter.fire();
  }

  /** Engine stderr to the output channel, without third-party noise (see log-filter.ts). */
  private logStderr(text: string): void {
    for (const line of text.split('\n')) {
      for (const l of this.logFilter.push(line)) (l.level === 'warn' ? this.deps.log.warn(l.text) : this.deps.log.info(l.text));
    }
  }

  private report(req: RunRequest, outcome: RunOutcome): RunOutcome {
    if (outcome.status === 'failed') {
      this.deps.log.error(`${req.title} failed: ${outcome.error ?? 'unknown error'}`);
      if (!req.silent) {
        void Promise.resolve(vscode.window.showErrorMessage(`RECLF: ${req.title} failed: ${outcome.error ?? 'unknown error'}`, 'Show Log'))
          .then((choice) => { if (choice === 'Show Log') this.deps.log.show(); });
      }
    } else if (outcome.status === 'cancelled' && !req.silent) {
      void vscode.window.showInformationMessage(`RECLF: ${req.title} cancelled.`);
    } else {
      this.deps.log.info(`${req.title}: ${outcome.status}`);
    }
    return outcome;
  }

  /** Cancels one run (by key or run folder); the tree of its engine process is killed. */
  async cancel(keyOrRunDir: string): Promise<boolean> {
    const run = this.active.get(keyOrRunDir)
      ?? [...this.active.values()].find((r) => r.runDir && path.resolve(r.runDir) === path.resolve(keyOrRunDir));
    if (!run) return false;
    await run.cancel();
    return true;
  }

  /** Pipe-attached runs die with the window; detached ones keep going and are re-attached. */
  dispose(): void {
    this.disposed = true;
    for (const r of this.active.values()) if (!r.detached) void r.cancel();
    this.eventsEmitter.dispose();
    this.changeEmitter.dispose();
  }
}

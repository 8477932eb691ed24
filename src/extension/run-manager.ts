// Runs engine commands with cancellable progress, engine stderr in a LogOutputChannel, and
// runs with a run folder (train, resume) detached and persisted in workspaceState so that a
// window reload re-attaches to them by tailing RUN/events.jsonl while their pid is alive.
import * as vscode from 'vscode';
import path from 'node:path';
import fs from 'node:fs';
import type { EngineEvent, RunStatus } from '../protocol/events';
import { parseEngineEvent } from '../protocol/events';
import { deviceLabel } from '../protocol/device';
import { engineLaunch, isAlive, killTree, startEngine, type EngineExit } from './engine-process';
import { FileTail, fileSize } from './events-tail';
import { readSettings } from './settings';

export interface RunRequest {
  /** Shown in the progress notification and in messages, e.g. "Train reclf". */
  title: string;
  /** CLI arguments after the engine script, e.g. ['train', '--data', D, '--out', R]. */
  args: string[];
  /** Set for runs that own a run folder: detached, persisted, events read from its events.jsonl. */
  runDir?: string;
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
  runDir?: string;
  pid: number;
  cancel(): Promise<void>;
}

export function formatEta(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${Math.round(s % 60)}s`;
  return `${Math.floor(s / 3600)}h ${Math.round((s % 3600) / 60)}m`;
}

/** The notification's message for an event; `device` (the run's device label) ends each line. */
export function progressMessage(e: EngineEvent, device?: string): string | undefined {
  const on = device ? ` · ${device}` : '';
  if (e.type === 'run_started') {
    const label = deviceLabel(e.backend, e.device, e.adapter);
    return label ? `started on ${label}` : undefined;
  }
  if (e.type === 'progress') {
    return `step ${e.step}/${e.total_steps} · loss ${e.loss.toFixed(4)} · ETA ${formatEta(e.eta_s)}${on}`;
  }
  if (e.type === 'metric') return `${e.name} ${e.value.toFixed(4)} (${e.split})${on}`;
  if (e.type === 'checkpoint') return `checkpoint at step ${e.step}${on}`;
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

  constructor(private readonly deps: RunManagerDeps) {}

  get running(): ReadonlyArray<{ key: string; title: string; runDir?: string; pid: number }> {
    return [...this.active.values()].map(({ key, title, runDir, pid }) => ({ key, title, runDir, pid }));
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
    this.track({ key, title: req.title, pid: proc.pid, cancel });
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
    this.track({ key, title: run.title, runDir: run.runDir, pid: run.pid, cancel });
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
    if (e.type === 'run_started') {
      const label = deviceLabel(e.backend, e.device, e.adapter);
      if (label) this.devices.set(key, label);
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
          const message = progressMessage(e, this.devices.get(key));
          if (!message) return;
          let increment: number | undefined;
          if (e.type === 'progress' && e.total_steps > 0) {
            const pct = Math.min(100, (100 * e.step) / e.total_steps);
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
    this.changeEmitter.fire();
  }

  private logStderr(text: string): void {
    for (const line of text.split('\n')) if (line.trim()) this.deps.log.info(line.replace(/\r/g, ''));
  }

  private report(req: RunRequest, outcome: RunOutcome): RunOutcome {
    if (outcome.status === 'failed') {
      this.deps.log.error(`${req.title} failed: ${outcome.error ?? 'unknown error'}`);
      if (!req.silent) {
        void Promise.resolve(vscode.window.showErrorMessage(`RECLF: ${req.title} failed: ${outcome.error ?? 'unknown error'}`, 'Open Log'))
          .then((choice) => { if (choice === 'Open Log') this.deps.log.show(); });
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
    for (const r of this.active.values()) if (!r.runDir) void r.cancel();
    this.eventsEmitter.dispose();
    this.changeEmitter.dispose();
  }
}

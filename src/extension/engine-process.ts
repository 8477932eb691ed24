// The engine as a child process (pure Node, no `vscode`): how to launch it, streaming its JSONL
// events, and killing its whole process tree. Native addons live in that child, never in the
// extension host, so an addon crash cannot take VS Code down.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import treeKill from 'tree-kill';
import { parseEngineEvent, type EngineEvent } from '../protocol/events';

export interface EngineLaunch {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

export interface LaunchOptions {
  /** Configured Node executable; empty = the host's own executable (VS Code's Electron). */
  nodePath: string;
  /** The executable of the current process (`process.execPath`). */
  execPath: string;
  /** dist/engine/reclf.cjs */
  enginePath: string;
  nodeArgs: string[];
  env: NodeJS.ProcessEnv;
}

/** Electron only behaves as plain Node with ELECTRON_RUN_AS_NODE; a real Node must not inherit it. */
export function engineLaunch(o: LaunchOptions, cliArgs: string[]): EngineLaunch {
  const env: NodeJS.ProcessEnv = { ...o.env };
  if (o.nodePath) delete env.ELECTRON_RUN_AS_NODE;
  else env.ELECTRON_RUN_AS_NODE = '1';
  return { command: o.nodePath || o.execPath, args: [...o.nodeArgs, o.enginePath, ...cliArgs], env };
}

/** Splits a byte stream into lines, keeping the unterminated tail for the next chunk. */
export class LineSplitter {
  private tail = '';
  constructor(private readonly onLine: (line: string) => void) {}
  push(chunk: string): void {
    const parts = (this.tail + chunk).split('\n');
    this.tail = parts.pop() ?? '';
    for (const p of parts) this.onLine(p.endsWith('\r') ? p.slice(0, -1) : p);
  }
  end(): void {
    if (this.tail) this.onLine(this.tail);
    this.tail = '';
  }
}

export interface EngineExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface EngineProcessOptions {
  cwd?: string;
  onEvent?: (event: EngineEvent) => void;
  /** Stdout lines that are not engine events (e.g. `--json` data). */
  onStdoutLine?: (line: string) => void;
  onStderr?: (text: string) => void;
  /**
   * Detach from the host: own process group, stdout ignored, stderr appended to this file.
   * Such a run outlives a window reload (no pipe to break); its events come from its events file.
   */
  detachedLogFile?: string;
}

export interface EngineProcess {
  readonly pid: number;
  readonly exited: Promise<EngineExit>;
  /** SIGTERM to the whole tree (the engine checkpoints and exits), SIGKILL after `graceMs`. */
  cancel(graceMs?: number): Promise<void>;
}

export function startEngine(launch: EngineLaunch, o: EngineProcessOptions = {}): EngineProcess {
  let child: ChildProcess;
  let logFd: number | undefined;
  if (o.detachedLogFile) {
    logFd = fs.openSync(o.detachedLogFile, 'a');
    child = spawn(launch.command, launch.args, { cwd: o.cwd, env: launch.env, detached: true, stdio: ['ignore', 'ignore', logFd], windowsHide: true });
  } else {
    child = spawn(launch.command, launch.args, { cwd: o.cwd, env: launch.env, stdio: ['ignore', 'pipe', 'pipe'], windowsHide: true });
    const lines = new LineSplitter((line) => {
      const ev = parseEngineEvent(line);
      if (ev) o.onEvent?.(ev);
      else if (line.trim()) o.onStdoutLine?.(line);
    });
    child.stdout?.setEncoding('utf8').on('data', (d: string) => lines.push(d)).on('end', () => lines.end());
    child.stderr?.setEncoding('utf8').on('data', (d: string) => o.onStderr?.(d));
  }
  const exited = new Promise<EngineExit>((resolve) => {
    let spawnError: Error | undefined;
    child.on('error', (err) => {
      spawnError = err;
      o.onStderr?.(`failed to start ${launch.command}: ${err.message}\n`);
      resolve({ code: -1, signal: null });
    });
    child.on('close', (code, signal) => {
      if (logFd !== undefined) fs.closeSync(logFd);
      if (!spawnError) resolve({ code, signal });
    });
  });
  const pid = child.pid ?? -1;
  return {
    pid,
    exited,
    cancel: (graceMs = 10_000) => killTree(pid, graceMs, () => child.exitCode !== null || child.signalCode !== null),
  };
}

export function isAlive(pid: number): boolean {
  if (!(pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function signalTree(pid: number, signal: NodeJS.Signals): Promise<void> {
  return new Promise((resolve) => treeKill(pid, signal, () => resolve()));
}

/**
 * SIGTERM to every process of the tree, then SIGKILL to whatever is left after `graceMs`.
 * `gone` says whether the root has exited (a dead root's zombie still answers kill(pid, 0)).
 */
export async function killTree(pid: number, graceMs = 10_000, gone: () => boolean = () => !isAlive(pid)): Promise<void> {
  if (!(pid > 0) || gone()) return;
  await signalTree(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (gone()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  if (!gone()) await signalTree(pid, 'SIGKILL');
}

/** A long-lived engine (`reclf serve`): requests on its stdin, answer lines on its stdout. */
export interface EngineServer {
  readonly pid: number;
  readonly exited: Promise<EngineExit>;
  /** Writes one line to the server's stdin; false once stdin is closed or broken. */
  send(line: string): boolean;
  /** Closes stdin (the server exits after its current request), then kills the tree after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export function startEngineServer(launch: EngineLaunch, o: { cwd?: string; onLine: (line: string) => void; onStderr?: (text: string) => void }): EngineServer {
  const child = spawn(launch.command, launch.args, { cwd: o.cwd, env: launch.env, stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true });
  const lines = new LineSplitter((line) => { if (line.trim()) o.onLine(line); });
  child.stdout?.setEncoding('utf8').on('data', (d: string) => lines.push(d)).on('end', () => lines.end());
  child.stderr?.setEncoding('utf8').on('data', (d: string) => o.onStderr?.(d));
  let writable = true;
  // A dead server's stdin raises EPIPE; the exit is reported through `exited` instead.
  child.stdin?.on('error', () => { writable = false; });
  const exited = new Promise<EngineExit>((resolve) => {
    let spawnError = false;
    child.on('error', (err) => {
      spawnError = true;
      writable = false;
      o.onStderr?.(`failed to start ${launch.command}: ${err.message}\n`);
      resolve({ code: -1, signal: null });
    });
    child.on('close', (code, signal) => { writable = false; if (!spawnError) resolve({ code, signal }); });
  });
  const gone = (): boolean => child.exitCode !== null || child.signalCode !== null;
  return {
    pid: child.pid ?? -1,
    exited,
    send(line) {
      if (!writable || !child.stdin || child.stdin.destroyed) return false;
      child.stdin.write(line.endsWith('\n') ? line : line + '\n');
      return true;
    },
    async stop(graceMs = 2000) {
      writable = false;
      child.stdin?.end();
      const deadline = Date.now() + Math.min(graceMs, 500);
      while (!gone() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      await killTree(child.pid ?? -1, graceMs, gone);
    },
  };
}

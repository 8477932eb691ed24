// The Slurm client tools as the engine calls them: sbatch, squeue, scontrol, scancel. Each runs
// as a child process with an argument vector (never a shell), a time limit, bounded output, and
// its failure turned into one line that names the problem (the tool missing, the controller
// unreachable, a partition or #SBATCH option refused) rather than Slurm's multi-line text.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export type SlurmTool = 'sbatch' | 'squeue' | 'scontrol' | 'scancel' | 'sinfo';

/** A Slurm call failed: `message` is one line; `exitCode` 1 because the environment failed, not the user's input (except `userInput`). */
export class SlurmError extends Error {
  readonly userError = true;
  readonly exitCode: number;
  constructor(message: string, readonly kind: 'missing' | 'unreachable' | 'partition' | 'option' | 'rejected' | 'timeout' | 'failed', readonly stderr = '') {
    super(message);
    this.name = 'SlurmError';
    this.exitCode = kind === 'partition' || kind === 'option' ? 2 : 1;
  }
}

export interface SlurmClient {
  /** Folder of the tools, or undefined for PATH. */
  binDir?: string;
  /** Time limit per call (ms). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface ToolResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** Where `tool` is, or undefined: PATH (or binDir) searched like the shell does. */
export function findTool(tool: SlurmTool, c: SlurmClient = {}): string | undefined {
  const dirs = c.binDir ? [c.binDir] : (c.env?.PATH ?? process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  for (const d of dirs) {
    const p = path.join(d, tool);
    try {
      fs.accessSync(p, fs.constants.X_OK);
      if (fs.statSync(p).isFile()) return p;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

const MAX_OUTPUT = 4 << 20;

/** Runs a Slurm tool; resolves with its output whatever its exit code, rejects only when it could not run or timed out. */
export function runTool(tool: SlurmTool, args: readonly string[], c: SlurmClient = {}): Promise<ToolResult> {
  const exe = findTool(tool, c);
  if (!exe) {
    return Promise.reject(new SlurmError(
      `${tool} not found ${c.binDir ? `in ${c.binDir}` : 'on PATH'}: is this a Slurm login node? (install Slurm's client tools, or pass --slurm-bin DIR / set slurm.binDir)`, 'missing'));
  }
  return new Promise((resolve, reject) => {
    const child = spawn(exe, args, { env: c.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const take = (cur: string, d: Buffer): string => (cur.length < MAX_OUTPUT ? cur + d.toString('utf8') : cur);
    child.stdout.on('data', (d: Buffer) => { stdout = take(stdout, d); });
    child.stderr.on('data', (d: Buffer) => { stderr = take(stderr, d); });
    const limit = c.timeoutMs ?? 60_000;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new SlurmError(`${tool} did not answer within ${Math.round(limit / 1000)} s: is the Slurm controller overloaded or unreachable?`, 'timeout'));
    }, limit);
    child.on('error', (e) => { clearTimeout(timer); reject(new SlurmError(`${tool} could not be started: ${e.message}`, 'failed')); });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ stdout, stderr, code: code ?? (signal ? 128 : 1) });
    });
  });
}

/** The first line of a tool's complaint, without its "sbatch: error: " prefix. */
export function firstError(stderr: string): string {
  const lines = stderr.split('\n').map((l) => l.trim()).filter(Boolean);
  const pick = lines.find((l) => /error|unrecognized|invalid|unable/i.test(l)) ?? lines[0] ?? '';
  return pick.replace(/^(sbatch|squeue|scontrol|scancel|sinfo|slurm_load_jobs|srun)(: (error|fatal))?:\s*/i, '').slice(0, 300);
}

/**
 * Turns a Slurm tool's failure into one line naming what went wrong. `sbatchLines` are the extra
 * #SBATCH options the user asked for, so a rejected option can be traced back to the line.
 */
export function describeFailure(tool: SlurmTool, r: ToolResult, ctx: { partition?: string; sbatchLines?: readonly string[]; script?: string } = {}): SlurmError {
  const all = r.stderr + '\n' + r.stdout;
  const why = firstError(all) || `exit status ${r.code}`;
  if (/unable to contact slurm controller|connection refused|connect failure|Zero Bytes were transmitted|Socket timed out|resolve_ctls_from_dns_srv|Could not establish a configuration source/i.test(all)) {
    return new SlurmError(`cannot reach the Slurm controller${process.env.SLURM_CONF ? ` (SLURM_CONF=${process.env.SLURM_CONF})` : ''}: ${why}`, 'unreachable', r.stderr);
  }
  if (/invalid partition/i.test(all)) {
    return new SlurmError(`unknown partition '${ctx.partition ?? '?'}': the cluster refused it (${why}); 'sinfo -s' lists the partitions`, 'partition', r.stderr);
  }
  const opt = /unrecognized option '([^']+)'|invalid option -- '?([^'\s]+)'?|Invalid (--?[\w-]+) specification|invalid (--?[\w-]+)|option '([^']+)' requires an argument/i.exec(all);
  if (tool === 'sbatch' && opt) {
    const name = (opt[1] ?? opt[2] ?? opt[3] ?? opt[4] ?? opt[5] ?? '').split('=')[0];
    const line = (ctx.sbatchLines ?? []).find((l) => name && l.split('=')[0] === name) ?? name;
    return new SlurmError(`Slurm rejected the #SBATCH line '${line}': ${why}${ctx.script ? ` (script ${ctx.script})` : ''}`, 'option', r.stderr);
  }
  return new SlurmError(`${tool} failed: ${why}`, tool === 'sbatch' ? 'rejected' : 'failed', r.stderr);
}

/** `sbatch --parsable SCRIPT`: the job id ("1234"; a federation's "1234;cluster" loses its cluster). */
export async function sbatch(script: string, c: SlurmClient, ctx: { partition?: string; sbatchLines?: readonly string[]; extraArgs?: string[] } = {}): Promise<string> {
  const r = await runTool('sbatch', ['--parsable', ...(ctx.extraArgs ?? []), script], c);
  const id = r.stdout.trim().split('\n').pop()?.split(';')[0] ?? '';
  if (r.code !== 0 || !/^\d+$/.test(id)) throw describeFailure('sbatch', r, { ...ctx, script });
  return id;
}

/** One line of `squeue -r`: an array task ("1234_5") or a job ("1234"), its state and reason. */
export interface QueueEntry {
  jobId: string;
  arrayJobId: string;
  taskId?: number;
  state: string;
  reason: string;
  /** Seconds run so far (squeue %M). */
  elapsed: string;
}

export const SQUEUE_FORMAT = '%i|%F|%K|%T|%r|%M';

export function parseSqueue(text: string): QueueEntry[] {
  const out: QueueEntry[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split('|');
    if (f.length < 6 || !/^\d/.test(f[0])) continue;
    const task = /^\d+$/.test(f[2]) ? Number(f[2]) : undefined;
    out.push({ jobId: f[0], arrayJobId: f[1], ...(task !== undefined ? { taskId: task } : {}), state: f[3], reason: f[4], elapsed: f[5] });
  }
  return out;
}

/**
 * Jobs of this name, every array task on its own line, finished ones included while the
 * controller still remembers them (MinJobAge): without accounting that is all there is.
 * By name rather than id: an id the controller has forgotten makes squeue fail.
 */
export async function squeueByName(name: string, c: SlurmClient): Promise<QueueEntry[]> {
  const r = await runTool('squeue', ['-h', '-r', '--states=all', `--name=${name}`, '-o', SQUEUE_FORMAT], c);
  if (r.code !== 0) throw describeFailure('squeue', r);
  return parseSqueue(r.stdout);
}

/** `scontrol show job ID` as key=value pairs (one job or array task). */
export async function scontrolShowJob(id: string, c: SlurmClient): Promise<Record<string, string> | undefined> {
  const r = await runTool('scontrol', ['show', 'job', '-o', id], c);
  if (r.code !== 0) {
    if (/invalid job id/i.test(r.stderr)) return undefined;
    throw describeFailure('scontrol', r);
  }
  const out: Record<string, string> = {};
  for (const m of r.stdout.matchAll(/(\w[\w/:]*)=(\S*)/g)) out[m[1]] ??= m[2];
  return out;
}

export async function scancel(ids: readonly string[], c: SlurmClient, opts: { signal?: string; batchOnly?: boolean } = {}): Promise<void> {
  if (ids.length === 0) return;
  const args = [...(opts.signal ? [`--signal=${opts.signal}`] : []), ...(opts.batchOnly ? ['--batch'] : []), ...ids];
  const r = await runTool('scancel', args, c);
  if (r.code !== 0) throw describeFailure('scancel', r);
}

/** Slurm job states that will not change any more (the task's files tell the rest). */
export const ENDED_STATES: ReadonlySet<string> = new Set([
  'COMPLETED', 'CANCELLED', 'FAILED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE', 'SPECIAL_EXIT', 'REVOKED',
]);

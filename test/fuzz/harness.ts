// Runs fuzz jobs (reclf command lines) in a child process (driver.ts), batched so the engine's
// modules load once, under a watchdog that polls the child's resident memory in /proc and kills
// it past the bound or when one job runs too long; the remaining jobs then go on in a fresh child.
// Also the assertions every case shares: a clear error is exit 2 (1 for I/O), named, one line,
// never "internal error" or a stack trace.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../helpers/tiny';

/** Peak resident memory any job may reach (the bound the issue asks for). */
export const MEMORY_BOUND_MIB = 1536;
/** A job that runs longer than this is taken as hung (a blocking read of a FIFO, say). */
export const JOB_TIMEOUT_MS = 60_000;

export interface FuzzJob {
  key: string;
  argv: string[];
}

export interface JobRecord {
  key: string;
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  /** The child's peak RSS (ru_maxrss) once this job had finished. */
  peakRssMiB: number;
}

export type JobResult = JobRecord | { key: string; died: string };

interface DriverRun {
  records: JobRecord[];
  /** The job in flight when the child died or was killed, and why. */
  died?: { key: string; reason: string };
  peakMiB: number;
}

function rssMiB(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
    return { rss: kib('VmRSS') / 1024, hwm: kib('VmHWM') / 1024 };
  } catch {
    return undefined;
  }
}

function runDriver(jobs: FuzzJob[], dir: string): Promise<DriverRun> {
  const jobsFile = path.join(dir, `jobs-${process.pid}-${Date.now()}.json`);
  const resultsFile = jobsFile.replace(/\.json$/, '.results.jsonl');
  fs.writeFileSync(jobsFile, JSON.stringify(jobs));
  fs.writeFileSync(resultsFile, '');
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'driver.ts'), jobsFile, resultsFile], {
      cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, RECLF_TEST: '1' },
    });
    let stderr = '';
    let killedFor: string | undefined;
    let peakMiB = 0;
    let inFlight: { key: string; since: number } | undefined;
    let readOffset = 0;
    const records: JobRecord[] = [];
    const readResults = (): void => {
      const text = fs.readFileSync(resultsFile, 'utf8');
      const lines = text.slice(readOffset).split('\n');
      const done = lines.pop() ?? '';
      readOffset = text.length - done.length;
      for (const line of lines) {
        if (!line) continue;
        const r = JSON.parse(line) as { started: string } | JobRecord;
        if ('started' in r) inFlight = { key: r.started, since: Date.now() };
        else { records.push(r); inFlight = undefined; }
      }
    };
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const poll = setInterval(() => {
      if (child.pid === undefined) return;
      const m = rssMiB(child.pid);
      if (m) peakMiB = Math.max(peakMiB, m.hwm, m.rss);
      readResults();
      if (killedFor) return;
      if (m && m.rss > MEMORY_BOUND_MIB) killedFor = `resident memory ${m.rss.toFixed(0)} MiB, over the ${MEMORY_BOUND_MIB} MiB bound`;
      else if (inFlight && Date.now() - inFlight.since > JOB_TIMEOUT_MS) killedFor = `still running after ${JOB_TIMEOUT_MS / 1000} s`;
      if (killedFor) child.kill('SIGKILL');
    }, 25);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearInterval(poll);
      readResults();
      fs.rmSync(jobsFile, { force: true });
      fs.rmSync(resultsFile, { force: true });
      if (records.length === jobs.length) return resolve({ records, peakMiB });
      const reason = killedFor ?? `driver exited with ${signal ?? code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
      resolve({ records, peakMiB, died: { key: inFlight?.key ?? jobs[records.length].key, reason } });
    });
  });
}

/**
 * Runs every job; a job that kills its child is recorded as `died` and the jobs after it run in a
 * new child. Returns the results by key and the highest RSS any child reached.
 */
export async function runJobs(jobs: FuzzJob[]): Promise<{ results: Map<string, JobResult>; peakMiB: number; wallMs: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-fuzz-driver-'));
  const t0 = performance.now();
  const results = new Map<string, JobResult>();
  let peakMiB = 0;
  let rest = jobs;
  while (rest.length) {
    const run = await runDriver(rest, dir);
    peakMiB = Math.max(peakMiB, run.peakMiB);
    for (const r of run.records) results.set(r.key, r);
    if (!run.died) break;
    results.set(run.died.key, { key: run.died.key, died: run.died.reason });
    rest = rest.slice(rest.findIndex((j) => j.key === run.died!.key) + 1);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  return { results, peakMiB, wallMs: performance.now() - t0 };
}

/** The job's record; fails when the job killed its process (memory, time) instead of finishing. */
export function finished(results: Map<string, JobResult>, key: string): JobRecord {
  const r = results.get(key);
  assert.ok(r, `${key}: no result`);
  assert.ok(!('died' in r), `${key}: the process died: ${'died' in r ? r.died : ''}`);
  assert.ok(r.peakRssMiB < MEMORY_BOUND_MIB, `${key}: peak RSS ${r.peakRssMiB} MiB, over ${MEMORY_BOUND_MIB} MiB`);
  return r;
}

/** No crash report anywhere in what a command printed. */
export function assertNoCrash(key: string, r: JobRecord): void {
  for (const text of [r.stderr, r.stdout]) {
    assert.doesNotMatch(text, /internal error/i, `${key}: internal error:\n${r.stderr}`);
    assert.doesNotMatch(text, /\n\s+at .+:\d+:\d+\)?$/m, `${key}: stack trace:\n${text}`);
    assert.doesNotMatch(text, /\b(TypeError|RangeError|ReferenceError|SyntaxError): /, `${key}: a JavaScript error reached the user:\n${text}`);
    assert.doesNotMatch(text, /\[object Object\]/, `${key}: an error object printed as text:\n${text}`);
  }
}

/**
 * Lines a command may print before its error line: train's report of the backend it chose (it
 * reads its data after), info's list of every invalid record (it checks them all, then decides).
 */
const LOG_BEFORE_ERROR: Record<string, RegExp> = {
  train: /^(backend: |[+-] \S+\s)/,
  info: /^invalid: line \d+/,
};

/**
 * A refusal of `cmd`: exit `code` (2 unless given) and stderr one error line `reclf <cmd>: …`
 * matching `re`, after nothing but the command's LOG_BEFORE_ERROR lines.
 */
export function assertRefused(key: string, r: JobRecord, cmd: string, re: RegExp, code = 2): void {
  assertNoCrash(key, r);
  assert.equal(r.code, code, `${key}: exit ${r.code}, expected ${code}; stderr:\n${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  const error = lines.at(-1)!;
  const before = lines.slice(0, -1);
  const log = LOG_BEFORE_ERROR[cmd];
  assert.ok(before.every((l) => log?.test(l)), `${key}: stderr is not one error line:\n${r.stderr}`);
  assert.ok(error.startsWith(`reclf ${cmd}: `), `${key}: the error line does not start with 'reclf ${cmd}: ':\n${r.stderr}`);
  assert.match(error, re, `${key}: ${error}`);
}

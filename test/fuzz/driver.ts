// Child process of the fuzz tier: runs many `reclf` command lines in this one process (as
// `runProcess` would, one after another) and appends one JSON line per job to a results file, so
// the parent sees what each job printed, its exit code and the process's peak RSS so far, and
// which job was in flight if this process dies or is killed for its memory.
// Usage: node --import tsx test/fuzz/driver.ts JOBS.json RESULTS.jsonl
import fs from 'node:fs';
import { runMain } from '../helpers/run-main';
import type { FuzzJob, JobRecord } from './harness';

/** One command line through main(), in this process; a throw is what runProcess prints for it. */
async function runOne(job: FuzzJob): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    return await runMain(job.argv);
  } catch (e) {
    return { code: 1, stdout: '', stderr: `reclf: internal error: ${(e as Error)?.stack ?? String(e)}\n` };
  }
}

async function run(jobsFile: string, resultsFile: string): Promise<void> {
  const jobs = JSON.parse(fs.readFileSync(jobsFile, 'utf8')) as FuzzJob[];
  for (const job of jobs) {
    fs.appendFileSync(resultsFile, JSON.stringify({ started: job.key }) + '\n');
    const t0 = performance.now();
    const r = await runOne(job);
    const rec: JobRecord = {
      key: job.key, ...r, ms: Math.round(performance.now() - t0),
      // ru_maxrss: the kernel's peak resident set of this process so far (KiB on Linux).
      peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    };
    fs.appendFileSync(resultsFile, JSON.stringify(rec) + '\n');
  }
}

run(process.argv[2], process.argv[3]).then(
  () => process.exit(0),
  (e) => { process.stderr.write(`fuzz driver: ${(e as Error)?.stack ?? e}\n`); process.exit(70); },
);

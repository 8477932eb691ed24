// `reclf train|eval --executor slurm`: one sbatch job that runs the same command on a compute
// node (a train job adds --resume once its run folder exists, so a requeue continues it).
// Recorded in RUN/slurm.json before and after sbatch, like an ablation's submissions.
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic, writeJsonAtomic } from '../../core/fs-atomic';
import type { CommandSpec, ParsedFlags } from '../args';
import { findTool, type SlurmClient } from './cli';
import { SLURM_FLAGS, type SlurmOptions } from './config';
import { jobNameFor, readRecord, recordedSbatch, type SlurmRecord, type Submission } from './ablation-executor';
import { SLURM_FILE } from './ablation-folder';
import { runScript } from './script';
import { ensureEngineBuilt } from './engine-path';

/** The command line again, from its parsed flags, without the executor's own flags. */
export function argvWithoutExecutor(spec: CommandSpec, flags: ParsedFlags): string[] {
  const out: string[] = [];
  for (const [name, f] of Object.entries(spec.flags)) {
    if (name in SLURM_FLAGS) continue;
    const v = flags[name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())];
    if (v === undefined || v === false || (f.default !== undefined && JSON.stringify(v) === JSON.stringify(f.default))) continue;
    if (v === true) out.push(`--${name}`);
    else if (Array.isArray(v)) out.push(`--${name}=${v.join(',')}`);
    else out.push(`--${name}=${String(v)}`);
  }
  return out;
}

export async function submitRun(kind: 'train' | 'eval', runDir: string, argv: string[], options: SlurmOptions): Promise<string> {
  const client: SlurmClient = { binDir: options.binDir };
  ensureEngineBuilt(options.enginePath, options.nodePath);
  fs.mkdirSync(runDir, { recursive: true });
  const record: SlurmRecord = readRecord(runDir) ?? { jobName: jobNameFor(runDir), submissions: [] };
  const n = record.submissions.length + 1;
  const created = new Date().toISOString();
  const script = path.join(runDir, 'slurm', `${kind}-${n}.sbatch`);
  // The job starts in the folder it was submitted from, so relative paths mean the same there.
  const opts = { ...options, sbatchLines: [`--chdir=${process.cwd()}`, ...options.sbatchLines] };
  writeFileAtomic(script, runScript({ runDir, jobName: record.jobName, argv, kind, options: opts, scontrol: findTool('scontrol', client) ?? 'scontrol', created }));
  const sub: Submission = { n, at: created, script, indices: [], runs: [path.basename(runDir)], state: 'submitting' };
  record.submissions.push(sub);
  return recordedSbatch(sub, () => writeJsonAtomic(path.join(runDir, SLURM_FILE), record), client, options);
}

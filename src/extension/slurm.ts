// Where a job runs: this machine, or the Slurm cluster whose login node this window works on
// (Remote-SSH: the extension runs on the workspace side, package.json `extensionKind`). The
// cluster is offered only when `sbatch` is found (in `reclf.slurm.binDir`, else on PATH); the
// engine does the rest (`--executor slurm`, `reclf jobs --cancel` -> scancel). No `vscode` here
// but the quick pick, so the choice of arguments is unit-tested as plain functions.
import * as vscode from 'vscode';
import fs from 'node:fs';
import path from 'node:path';

export type Executor = 'local' | 'slurm';

/** The Slurm client tools found for this window. */
export interface SlurmTools {
  /** Absolute path of `sbatch`. */
  sbatch: string;
  /** The configured folder (passed to the engine as --slurm-bin); absent: the engine uses PATH too. */
  binDir?: string;
}

/** The engine's record of a submission, in an ablation folder or a run folder (src/engine/slurm). */
export const SLURM_RECORD = 'slurm.json';

function isExecutable(p: string): boolean {
  try {
    const st = fs.statSync(p);
    if (!st.isFile()) return false;
    if (process.platform === 'win32') return true;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * `sbatch` in `binDir` when one is configured (only there: a configured folder without it means
 * no cluster), else the first on PATH. Undefined: no cluster to offer.
 */
export function findSlurm(binDir: string | undefined, env: NodeJS.ProcessEnv = process.env): SlurmTools | undefined {
  const exe = process.platform === 'win32' ? 'sbatch.exe' : 'sbatch';
  if (binDir) {
    const p = path.join(binDir, exe);
    return isExecutable(p) ? { sbatch: p, binDir } : undefined;
  }
  for (const dir of (env.PATH ?? env.Path ?? '').split(path.delimiter)) {
    if (!dir || !path.isAbsolute(dir)) continue; // a relative PATH entry would follow the cwd
    const p = path.join(dir, exe);
    if (isExecutable(p)) return { sbatch: p };
  }
  return undefined;
}

/** The engine arguments that hand a command to Slurm (`--wait`: follow the tasks until done). */
export function slurmArgs(tools: SlurmTools, extra: readonly string[], wait: boolean): string[] {
  return ['--executor', 'slurm', ...(tools.binDir ? ['--slurm-bin', tools.binDir] : []), ...extra, ...(wait ? ['--wait'] : [])];
}

/** `reclf jobs DIR --cancel`: scancel every queued or running task of an ablation (or a run's job). */
export function cancelJobsArgs(dir: string, binDir: string | undefined): string[] {
  return ['jobs', dir, '--cancel', ...(binDir ? ['--slurm-bin', binDir] : [])];
}

/** Whether `dir` (an ablation or run folder) was handed to Slurm: the engine recorded a submission. */
export function submittedToSlurm(dir: string): boolean {
  return fs.existsSync(path.join(dir, SLURM_RECORD));
}

export const THIS_MACHINE = 'This machine';
export const SLURM_CLUSTER = 'Slurm cluster';

/**
 * Asks where to run when a cluster is available; `local` without asking otherwise. Undefined: the
 * user left the picker.
 */
export async function pickExecutor(tools: SlurmTools | undefined, what: string): Promise<Executor | undefined> {
  if (!tools) return 'local';
  const pick = await vscode.window.showQuickPick([
    { label: THIS_MACHINE, description: 'run here, one after another', executor: 'local' as const },
    { label: SLURM_CLUSTER, description: `submit with ${tools.sbatch}; the runs tree follows the jobs`, executor: 'slurm' as const },
  ], { title: `RECLF: where to run ${what}?` });
  return pick?.executor;
}

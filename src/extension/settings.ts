// Typed access to the `reclf.*` settings declared in package.json `contributes.configuration`.
// Read on every use (never cached) so a settings change applies to the next engine run.
import * as vscode from 'vscode';
import path from 'node:path';
import { BACKEND_CHOICES, type BackendChoice } from '../protocol/backends';
import { DEFAULT_METHOD, METHOD_NAMES, type MethodName } from '../protocol/methods';

// The allowed values are the protocol's lists (package.json's enums are tested against them).
export type BackendSetting = BackendChoice;
export type MethodSetting = MethodName;

export interface ReclfSettings {
  /** Node executable for the engine; empty = VS Code's own Node (ELECTRON_RUN_AS_NODE). */
  nodePath: string;
  /** Extra Node.js arguments placed before the engine script (e.g. --max-old-space-size=8192). */
  engineArgs: string[];
  defaultBackend: BackendSetting;
  /** Absolute folder that holds run folders. */
  runsFolder: string | undefined;
  defaultMethod: MethodSetting;
  /** Absolute path of the default *.reclf.json, if any. */
  defaultConfig: string | undefined;
  /** Folder holding sbatch/squeue/scancel; undefined = PATH (reclf.slurm.binDir). */
  slurmBinDir: string | undefined;
  /** Extra `reclf ... --executor slurm` options, e.g. ["--partition", "gpu", "--gpus", "1"] (reclf.slurm.args). */
  slurmArgs: string[];
}

function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

/** Relative setting paths are relative to the first workspace folder. */
export function resolveWorkspacePath(p: string): string | undefined {
  if (!p) return undefined;
  if (path.isAbsolute(p)) return p;
  const root = workspaceRoot();
  return root ? path.join(root, p) : undefined;
}

function pick<T extends string>(value: unknown, allowed: readonly T[], fallback: T): T {
  return typeof value === 'string' && (allowed as readonly string[]).includes(value) ? value as T : fallback;
}

export function readSettings(): ReclfSettings {
  const c = vscode.workspace.getConfiguration('reclf');
  const args = c.get<unknown>('engineArgs');
  const slurm = c.get<unknown>('slurm.args');
  return {
    nodePath: String(c.get<string>('nodePath') ?? '').trim(),
    engineArgs: Array.isArray(args) ? args.filter((a): a is string => typeof a === 'string') : [],
    defaultBackend: pick(c.get('defaultBackend'), BACKEND_CHOICES, 'auto'),
    runsFolder: resolveWorkspacePath(String(c.get<string>('runsFolder') ?? 'runs')),
    defaultMethod: pick(c.get('defaultMethod'), METHOD_NAMES, DEFAULT_METHOD),
    defaultConfig: resolveWorkspacePath(String(c.get<string>('defaultConfig') ?? '')),
    slurmBinDir: resolveWorkspacePath(String(c.get<string>('slurm.binDir') ?? '').trim()),
    slurmArgs: Array.isArray(slurm) ? slurm.filter((a): a is string => typeof a === 'string') : [],
  };
}

export const METHOD_CHOICES: readonly MethodSetting[] = METHOD_NAMES;
export { BACKEND_CHOICES };

/**
 * The `--backend` arguments for an engine command: the setting when it names a backend; nothing
 * for `auto`, so that a --config file's (or a resumed run's) own `backend` still applies.
 */
export function backendArgs(setting: BackendSetting): string[] {
  return setting === 'auto' ? [] : ['--backend', setting];
}

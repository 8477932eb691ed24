// The `slurm` config group and its command-line flags: what the job script asks the scheduler
// for. Defaults come from the published schema (schemas/reclf-config.schema.json, group
// `slurm`), so no value is written twice; a *.reclf.json's group is read by readConfigFile (which
// validates it with the rest of the file) and the flags override it field by field.
import path from 'node:path';
import fs from 'node:fs';
import schema from '../../../schemas/reclf-config.schema.json';
import type { FlagSpec, ParsedFlags } from '../args';
import { list, num, str, UsageError } from '../args';

export interface SlurmOptions {
  partition?: string;
  time: string;
  mem: string;
  cpusPerTask: number;
  gpus: number;
  account?: string;
  qos?: string;
  maxParallel: number;
  sbatchLines: string[];
  signalSeconds: number;
  retry: number;
  /** Node.js and the engine script as the compute nodes run them. */
  nodePath: string;
  enginePath: string;
  /** Folder of sbatch/squeue/scontrol/scancel; undefined: PATH. */
  binDir?: string;
}

type Props = Record<string, { default?: unknown; description: string }>;
const PROPS = (schema.properties as unknown as { slurm: { properties: Props } }).slurm.properties;

function dflt<T>(key: keyof SlurmOptions): T {
  return PROPS[key].default as T;
}

/** The engine's package root (bin/reclf.js beside src/ or dist/), found above this module. */
export function packageRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    if (fs.existsSync(path.join(dir, 'bin', 'reclf.js')) && fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return path.resolve(__dirname, '..', '..', '..');
}

/** The flags every `--executor slurm` command takes; their help text is the schema's description. */
export const SLURM_FLAGS: Record<string, FlagSpec> = {
  executor: { type: 'string', description: "Where to run: 'local' (this process) or 'slurm' (submit an sbatch job; options below or the config's slurm group)", default: 'local', value: 'NAME' },
  partition: { type: 'string', description: `Slurm: ${PROPS.partition.description}`, value: 'NAME' },
  time: { type: 'string', description: `Slurm: ${PROPS.time.description} (default ${dflt<string>('time')})`, value: 'TIME' },
  mem: { type: 'string', description: `Slurm: ${PROPS.mem.description} (default ${dflt<string>('mem')})`, value: 'SIZE' },
  'cpus-per-task': { type: 'number', description: `Slurm: ${PROPS.cpusPerTask.description} (default ${dflt<number>('cpusPerTask')})`, value: 'N' },
  gpus: { type: 'number', description: `Slurm: ${PROPS.gpus.description}`, value: 'N' },
  account: { type: 'string', description: `Slurm: ${PROPS.account.description}`, value: 'NAME' },
  qos: { type: 'string', description: `Slurm: ${PROPS.qos.description}`, value: 'NAME' },
  'max-parallel': { type: 'number', description: `Slurm: ${PROPS.maxParallel.description}`, value: 'N' },
  'sbatch-line': { type: 'multi', description: 'Slurm: an extra #SBATCH option, e.g. --sbatch-line=--constraint=a100 (repeatable)', value: 'OPTION' },
  'signal-seconds': { type: 'number', description: `Slurm: ${PROPS.signalSeconds.description} (default ${dflt<number>('signalSeconds')})`, value: 'S' },
  node: { type: 'string', description: `Slurm: ${PROPS.nodePath.description}`, value: 'PATH' },
  engine: { type: 'string', description: `Slurm: ${PROPS.enginePath.description}`, value: 'PATH' },
  'slurm-bin': { type: 'string', description: `Slurm: ${PROPS.binDir.description}`, value: 'DIR' },
};

export type Executor = 'local' | 'slurm';

export function executorOf(flags: ParsedFlags): Executor {
  const e = str(flags, 'executor') ?? 'local';
  if (e !== 'local' && e !== 'slurm') throw new UsageError(`--executor must be local or slurm, got '${e}'`);
  return e;
}

const FLAG_NAMES: readonly string[] = Object.keys(SLURM_FLAGS).filter((k) => k !== 'executor');

/** Slurm flags given on a command line that runs locally: a mistake worth one line, not silence. */
export function slurmFlagsGiven(flags: ParsedFlags): string[] {
  return FLAG_NAMES.filter((n) => flags[n.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase())] !== undefined).map((n) => `--${n}`);
}

/**
 * The options of a submission: the schema's defaults, then the config file's `slurm` group
 * (already schema-checked), then the flags. Values the schema bounds are checked here for flags.
 */
export function resolveSlurmOptions(group: Record<string, unknown> | undefined, flags: ParsedFlags): SlurmOptions {
  const g = group ?? {};
  const pick = <T>(flag: T | undefined, key: keyof SlurmOptions): T => (flag !== undefined ? flag : (g[key] as T | undefined) ?? dflt<T>(key));
  const int = (name: string, v: number | undefined, min: number): number | undefined => {
    if (v !== undefined && (!Number.isInteger(v) || v < min)) throw new UsageError(`--${name} must be an integer >= ${min}, got ${v}`);
    return v;
  };
  const lines = [...((g.sbatchLines as string[] | undefined) ?? []), ...(list(flags, 'sbatchLine') ?? [])];
  const o: SlurmOptions = {
    partition: pick(str(flags, 'partition'), 'partition'),
    time: pick(str(flags, 'time'), 'time'),
    mem: pick(str(flags, 'mem'), 'mem'),
    cpusPerTask: pick(int('cpus-per-task', num(flags, 'cpusPerTask'), 1), 'cpusPerTask'),
    gpus: pick(int('gpus', num(flags, 'gpus'), 0), 'gpus'),
    account: pick(str(flags, 'account'), 'account'),
    qos: pick(str(flags, 'qos'), 'qos'),
    maxParallel: pick(int('max-parallel', num(flags, 'maxParallel'), 0), 'maxParallel'),
    sbatchLines: lines,
    signalSeconds: pick(int('signal-seconds', num(flags, 'signalSeconds'), 0), 'signalSeconds'),
    retry: pick(int('retry', num(flags, 'retry'), 0), 'retry'),
    nodePath: path.resolve(pick(str(flags, 'node'), 'nodePath') ?? process.execPath),
    enginePath: path.resolve(pick(str(flags, 'engine'), 'enginePath') ?? path.join(packageRoot(), 'bin', 'reclf.js')),
    binDir: pick(str(flags, 'slurmBin'), 'binDir'),
  };
  for (const [name, v] of [['time', o.time], ['mem', o.mem], ['partition', o.partition], ['account', o.account], ['qos', o.qos]] as const) {
    // One line each in the script: a newline would smuggle in another directive or command.
    if (v !== undefined && (/[\s#'"\\$`]/.test(v) || v === '')) throw new UsageError(`--${name} '${v}': one word without spaces, quotes or '#'`);
  }
  for (const l of o.sbatchLines) {
    if (!/^--?[A-Za-z]/.test(l) || /[\n\r]/.test(l)) throw new UsageError(`--sbatch-line '${l}': expected one sbatch option such as --constraint=a100`);
  }
  return o;
}

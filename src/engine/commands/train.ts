// `reclf train`: pretrain a dual encoder with an alignment method on a dataset folder.
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import type { Command } from '../command';
import { bool, num, str, UsageError } from '../args';
import { resolveRunConfig, type RunConfig } from '../../core/train/run-config';
import { runTraining, splitProvenance, CONFIG_FILE } from '../../core/train/trainer';
import { initBackend, describeBackends } from '../../core/runtime/backend';
import { isUserError } from '../../core/errors';
import { WriteError } from '../../core/fs-atomic';
import { engineVersion } from '../events';
import { METHOD_NAMES } from '../../core/align/registry';
import { BACKEND_CHOICES } from '../../protocol/backends';
import { readConfigFile } from '../run-config-file';
import { checkPresetMethod, withPreset } from '../../core/train/presets';
import { PRESET_NAMES, PRESETS } from '../../protocol/presets';
import { executorOf, resolveSlurmOptions, SLURM_FLAGS } from '../slurm/config';
import { argvWithoutExecutor, submitRun } from '../slurm/run-executor';
import { gpuPlacement } from '../slurm/gpu-placement';

export const trainCommand: Command = {
  spec: {
    name: 'train',
    summary: 'Pretrain image-report alignment (RECLF, MLIP, GLoRIA, MGCA, ConVIRT) on a dataset folder',
    usage: 'reclf train --data DIR --method NAME --out RUN [--preset NAME] [--config FILE.reclf.json] [--resume] [--epochs N] [--max-steps N] [--backend NAME] [--seed S]',
    flags: {
      data: { type: 'string', description: 'Dataset folder with manifest.jsonl', required: true, value: 'DIR' },
      method: { type: 'string', description: `Alignment method: ${METHOD_NAMES.join(', ')} (default: the config's, else reclf)`, value: 'NAME' },
      out: { type: 'string', description: 'Run folder (config.json, events.jsonl, checkpoints/)', required: true, value: 'RUN' },
      preset: {
        type: 'string', value: 'NAME',
        description: `Start from a named config instead of the defaults; --config and flags refine it (${PRESET_NAMES.map((p) => `${p}: ${PRESETS[p].help}`).join('; ')})`,
      },
      config: { type: 'string', description: 'JSON config (data, text, model, method, train groups); flags override it', value: 'FILE' },
      resume: { type: 'boolean', description: "Continue the run in --out from its last checkpoint, with the run's config.json" },
      epochs: { type: 'number', description: 'Override train.epochs', value: 'N' },
      'max-steps': { type: 'number', description: 'Override train.maxSteps (stop after N optimizer steps)', value: 'N' },
      'batch-size': { type: 'number', description: 'Override train.batchSize', value: 'N' },
      lr: { type: 'number', description: 'Override train.lr', value: 'LR' },
      backend: { type: 'string', description: `TF.js backend: ${BACKEND_CHOICES.join(', ')} (auto: the first that loads, in that order)`, value: 'NAME' },
      seed: { type: 'number', description: 'Override train.seed', value: 'S' },
      'init-image': { type: 'string', description: 'Initialise the image backbone from torchvision ResNet weights (.safetensors)', value: 'FILE' },
      'init-text': { type: 'string', description: 'Initialise the text encoder from Hugging Face BERT weights (.safetensors)', value: 'FILE' },
      'print-config': { type: 'boolean', description: 'Print the resolved config (every default filled) and exit' },
      ...SLURM_FLAGS,
    },
  },
  async run(ctx) {
    const f = ctx.args.flags;
    const out = path.resolve(str(f, 'out')!);
    const data = path.resolve(str(f, 'data')!);
    const resume = bool(f, 'resume');
    const config = loadConfig(f, out, resume);
    if (bool(f, 'printConfig')) {
      process.stdout.write(JSON.stringify(config, null, 2) + '\n');
      return 0;
    }
    if (executorOf(f) === 'slurm') {
      const file = str(f, 'config');
      const group = file ? (readConfigFile(file).slurm as Record<string, unknown> | undefined) : undefined;
      const jobId = await submitRun('train', out, argvWithoutExecutor(trainCommand.spec, f), resolveSlurmOptions(group, f));
      ctx.events.log(`submitted job ${jobId}: log in ${out}/slurm-${jobId}.log; follow with 'reclf jobs ${out}'`);
      return 0;
    }
    try {
      fs.mkdirSync(out, { recursive: true });
    } catch (e) {
      throw new WriteError(out, (e as NodeJS.ErrnoException).code, 'cannot create the run folder');
    }
    ctx.events.attachFile(path.join(out, 'events.jsonl'));
    // SIGINT/SIGTERM: finish the step, checkpoint, write the summary and run_finished, exit 128+signal
    // (130, 143). A second signal exits at once: checkpoints are renamed into place only when
    // complete, so an interrupted write leaves a temp file (removed on the next start), never a torn one.
    const cancel = { requested: false };
    let signalled: NodeJS.Signals | undefined;
    const onSignal = (sig: NodeJS.Signals): void => {
      if (cancel.requested) {
        ctx.events.log(`${sig} again: exiting now; the checkpoints already written are complete`);
        process.exit(signalExitCode(sig));
      }
      cancel.requested = true;
      signalled = sig;
      ctx.events.log(`${sig}: finishing the current step, writing a checkpoint, then stopping (${sig} again to exit at once)`);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    let statusShown = false;
    try {
      const backend = await initBackend(config.backend);
      ctx.events.log(`backend: ${backend.name} (${backend.device})\n${describeBackends(backend.probes)}`);
      const gpu = gpuPlacement(process.env, backend.name);
      if (gpu) ctx.events.log(`gpu: ${gpu}`);
      const result = await runTraining({
        runDir: out, dataDir: data, config, resume, cancel, backend: backend.name, device: backend.device, adapter: backend.adapter,
        init: { image: initPath(str(f, 'initImage')), text: initPath(str(f, 'initText')) },
        provenance: { engineVersion: engineVersion(), commandLine: commandLine(), cwd: process.cwd() },
        listener: {
          // The editor shows jobs by kind: this one is a training (its run_started says so).
          emit: (e) => ctx.events.emit(e.type === 'run_started' ? { ...e, job: 'train' } : e),
          log: (m) => { if (statusShown) { process.stderr.write('\n'); statusShown = false; } ctx.events.log(m); },
          status: ctx.tty ? (line) => { process.stderr.write(`\r${line}\x1b[K`); statusShown = true; } : undefined,
        },
      });
      if (statusShown) process.stderr.write('\n');
      ctx.events.emit({ type: 'run_finished', status: result.status, summary: { ...result } });
      const v = result.validation;
      if (v) {
        ctx.events.log(`validation (in-batch of ${v.batch.toFixed(0)}, chance acc@1 ${(100 / v.batch).toFixed(1)}%): ` +
          `image->text acc@1 ${(100 * v.i2t_acc1).toFixed(1)}% acc@5 ${(100 * v.i2t_acc5).toFixed(1)}%, ` +
          `text->image acc@1 ${(100 * v.t2i_acc1).toFixed(1)}% acc@5 ${(100 * v.t2i_acc5).toFixed(1)}%, loss ${v.loss.toFixed(4)}`);
      }
      ctx.events.log(`run ${result.status} at step ${result.step}/${result.totalSteps}: ${out}`);
      return result.status === 'cancelled' ? signalExitCode(signalled ?? 'SIGINT') : 0;
    } catch (e) {
      if (statusShown) process.stderr.write('\n');
      const message = (e as Error).message.split('\n')[0];
      const code = e instanceof WriteError ? 'io_error' : isUserError(e) ? 'user_error' : 'internal_error';
      ctx.events.emit({ type: 'error', code, message });
      ctx.events.emit({ type: 'run_finished', status: 'failed', summary: { error: message, code } });
      throw e;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
};

/** The shell's convention: 128 + the signal's number (SIGINT 130, SIGTERM 143). */
export function signalExitCode(sig: NodeJS.Signals): number {
  return 128 + (os.constants.signals[sig] ?? 2);
}

/** This invocation as a shell command line (quoted where needed), for the run's provenance. */
function commandLine(): string {
  const quote = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['reclf', ...process.argv.slice(2)].map(quote).join(' ');
}

function initPath(p: string | undefined): string | undefined {
  if (!p) return undefined;
  const abs = path.resolve(p);
  if (!fs.existsSync(abs)) throw new UsageError(`--init-image/--init-text: file not found: ${abs}`);
  return abs;
}

function loadConfig(f: Record<string, unknown>, out: string, resume: boolean): RunConfig {
  const runConfig = path.join(out, CONFIG_FILE);
  const file = str(f as never, 'config');
  const preset = str(f as never, 'preset');
  // A resumed run trains on with its recorded config; a preset there would change it midway.
  if (resume && preset !== undefined) throw new UsageError('--preset starts a new run; --resume continues with the config the run recorded');
  let raw: Record<string, unknown>;
  if (resume && !file) {
    if (!fs.existsSync(runConfig)) throw new UsageError(`--resume: ${out} has no ${CONFIG_FILE}; is it a run folder?`);
    raw = readConfigFile(runConfig);
  } else {
    raw = file ? readConfigFile(file) : {};
  }
  if (preset !== undefined) {
    checkPresetMethod(preset, str(f as never, 'method') ?? ((raw.method as Record<string, unknown> | undefined)?.name as string | undefined));
    raw = withPreset(preset, raw);
  }
  // A run's config.json (resumed, or given as --config) also records its provenance: not config.
  raw = splitProvenance(raw).config as Record<string, unknown>;
  const train = { ...((raw.train as Record<string, unknown>) ?? {}) };
  const set = (key: string, flag: string): void => {
    const v = num(f as never, flag);
    if (v !== undefined) train[key] = v;
  };
  set('epochs', 'epochs');
  set('maxSteps', 'maxSteps');
  set('batchSize', 'batchSize');
  set('lr', 'lr');
  set('seed', 'seed');
  raw.train = train;
  const backend = str(f as never, 'backend');
  if (backend) raw.backend = backend;
  return resolveRunConfig(raw, str(f as never, 'method'));
}

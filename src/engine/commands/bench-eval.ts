// `reclf bench eval`: seconds per evaluation task on 1,000 studies (cold features, then cached),
// the speed target for `reclf eval`; on a private copy of the run.
import path from 'node:path';
import { bool, list, num, str, UsageError } from '../args';
import type { Command } from '../command';
import { initBackend } from '../../core/runtime/backend';
import { BACKEND_CHOICES } from '../../protocol/backends';
import { parseTasks } from '../../core/eval/tasks';
import { benchEval, EVAL_BENCH_DEFAULT_TASKS, formatEvalBench } from '../../bench/bench-eval';

export const benchEvalCommand: Command = {
  spec: {
    name: 'bench eval',
    summary: 'Time reclf eval per task (cold features, then cached) on a run, or on a fresh synthetic set',
    usage: 'reclf bench eval [--run RUN --data DIR] [--studies 1000] [--tasks LIST] [--split test] [--json]',
    flags: {
      run: { type: 'string', value: 'RUN', description: 'Run folder to evaluate (copied; its eval/ is not touched). Default: a one-step default-config run' },
      data: { type: 'string', value: 'DIR', description: 'Dataset of --run. Default: a synthetic set of --studies studies' },
      studies: { type: 'number', value: 'N', default: 1000, description: 'Size of the synthetic set when no --data is given' },
      tasks: { type: 'list', value: 'LIST', description: `Tasks (default: ${EVAL_BENCH_DEFAULT_TASKS.join(', ')}; add segmentation to time it too)` },
      split: { type: 'string', value: 'NAME', default: 'test', description: 'Evaluation split' },
      backend: { type: 'string', value: 'NAME', description: `TF.js backend: ${BACKEND_CHOICES.join(', ')}` },
      json: { type: 'boolean', description: 'Print the report as JSON on stdout instead of a table' },
    },
  },
  async run(ctx) {
    const f = ctx.args.flags;
    const run = str(f, 'run');
    const data = str(f, 'data');
    if (Boolean(run) !== Boolean(data)) throw new UsageError('give --run and --data together (or neither, for a synthetic benchmark)');
    const split = str(f, 'split') ?? 'test';
    if (split !== 'train' && split !== 'valid' && split !== 'test') throw new UsageError(`--split must be train, valid or test, got '${split}'`);
    const studies = num(f, 'studies') ?? 1000;
    if (!Number.isInteger(studies) || studies < 10) throw new UsageError(`--studies must be an integer >= 10, got ${studies}`);
    const backend = await initBackend(str(f, 'backend'));
    ctx.events.log(`backend: ${backend.name} (${backend.device})`);
    const report = await benchEval({
      runDir: run && path.resolve(run), dataDir: data && path.resolve(data), studies, split,
      tasks: parseTasks(list(f, 'tasks')) ?? EVAL_BENCH_DEFAULT_TASKS, backend: backend.name, device: backend.device,
      log: (m) => ctx.events.log(m),
    });
    process.stdout.write((bool(f, 'json') ? JSON.stringify(report, null, 2) : formatEvalBench(report)) + '\n');
    return 0;
  },
};

// `reclf ablate`: train every method variant on the same data with the same step budget and
// seeds, evaluate each, and write OUT/ablation.json and OUT/ablation.md (mean ± std).
import path from 'node:path';
import type { Command } from '../command';
import { list, num, str, UsageError } from '../args';
import { initBackend } from '../../core/runtime/backend';
import { BACKEND_CHOICES } from '../../protocol/backends';
import { parseNamedVariants, runAblation, VARIANTS } from '../../core/eval/ablate';
import { parseTasks } from '../../core/eval/tasks';
import { readConfigFile, readJsonObjectFile } from '../run-config-file';

const DEFAULT_METHODS = ['convirt', 'gloria', 'mgca', 'reclf', 'reclf-no-srm', 'reclf-no-irm'];

export const ablateCommand: Command = {
  spec: {
    name: 'ablate',
    summary: 'Train and evaluate method variants under one budget; tabulate mean ± std over seeds',
    usage: 'reclf ablate --data DIR [--methods convirt,gloria,mgca,reclf,reclf-no-srm,reclf-no-irm] [--seeds 3] [--eval-seeds 1] --budget STEPS [--out DIR] [--tasks ...] [--config FILE] [--variants FILE]',
    flags: {
      data: { type: 'string', description: 'Dataset folder with manifest.jsonl', required: true, value: 'DIR' },
      methods: { type: 'list', description: `Variants: ${Object.keys(VARIANTS).join(', ')}`, default: DEFAULT_METHODS, value: 'LIST' },
      seeds: { type: 'number', description: 'Pretraining seeds 0..n-1 per variant', default: 3, value: 'N' },
      'eval-seeds': { type: 'number', description: 'Seeds of the evaluation protocols inside each run (linear-probe, segmentation and detection fractions); the spread over pretraining seeds is what the table reports', default: 1, value: 'N' },
      budget: { type: 'number', description: 'Optimizer steps per run (the same for every variant)', required: true, value: 'STEPS' },
      out: { type: 'string', description: 'Output folder (one run folder per variant and seed)', default: 'ablation', value: 'DIR' },
      tasks: { type: 'list', description: 'Evaluation tasks (default: every task the dataset supports)', value: 'LIST' },
      split: { type: 'string', description: 'Evaluation split', default: 'test', value: 'NAME' },
      config: { type: 'string', description: 'Shared JSON config (data, text, model, train groups); method is set per variant', value: 'FILE' },
      variants: {
        type: 'string', value: 'FILE',
        description: 'Named variants of a design study: a JSON object of name -> partial config (groups data, text, model, method with its name, train), merged over --config; --methods defaults to every name in it',
      },
      backend: { type: 'string', description: `TF.js backend: ${BACKEND_CHOICES.join(', ')}`, value: 'NAME' },
    },
  },
  async run(ctx) {
    const f = ctx.args.flags;
    const budget = num(f, 'budget')!;
    const seeds = num(f, 'seeds') ?? 3;
    const split = str(f, 'split') ?? 'test';
    const evalSeeds = num(f, 'evalSeeds') ?? 1;
    if (!Number.isInteger(evalSeeds) || evalSeeds < 1) throw new UsageError(`--eval-seeds must be a positive integer, got ${evalSeeds}`);
    if (split !== 'train' && split !== 'valid' && split !== 'test') throw new UsageError(`--split must be train, valid or test, got '${split}'`);
    const out = path.resolve(str(f, 'out') ?? 'ablation');
    const configFile = str(f, 'config');
    const variantsFile = str(f, 'variants');
    const variants = variantsFile ? parseNamedVariants(readJsonObjectFile(variantsFile, 'variants'), variantsFile) : undefined;
    const backend = await initBackend(str(f, 'backend'));
    ctx.events.log(`backend: ${backend.name} (${backend.device})`);
    const cancel = { requested: false };
    const onSignal = (): void => { cancel.requested = true; };
    process.on('SIGINT', onSignal);
    try {
      const summary = await runAblation({
        dataDir: path.resolve(str(f, 'data')!), out, methods: list(f, 'methods') ?? (variants ? Object.keys(variants) : DEFAULT_METHODS), seeds, budget, variants,
        baseConfig: configFile ? readConfigFile(configFile) : undefined,
        backend: backend.name, device: backend.device, adapter: backend.adapter, cancel,
        listener: { emit: () => {}, log: (m) => ctx.events.log(m) },
        evaluate: {
          tasks: parseTasks(list(f, 'tasks')), split, score: 'both', pooling: 'max', backend: backend.name,
          createdBy: ['reclf', 'ablate', ...process.argv.slice(3)].join(' '), seeds: Array.from({ length: evalSeeds }, (_, i) => i),
          log: (m) => ctx.events.log(m),
        },
      });
      for (const row of summary.rows) {
        for (const r of summary.runs.filter((x) => x.variant === row.variant)) {
          const metrics: Record<string, number> = {};
          for (const [k, vals] of Object.entries(row.values)) metrics[k] = vals[row.seeds.indexOf(r.seed)] ?? NaN;
          ctx.events.emit({ type: 'eval_result', task: `ablate/${row.variant}/seed${r.seed}`, metrics });
        }
      }
      ctx.events.log(`wrote ${path.join(out, 'ablation.json')} and ${path.join(out, 'ablation.md')}`);
      return 0;
    } finally {
      process.off('SIGINT', onSignal);
    }
  },
};

// `reclf synth`: writes the synthetic chest X-ray benchmark (METHODS.md section 8) to a folder.
import { ConfigError } from '../../core/errors';
import { DEFAULT_SIZE, DEFAULT_SPLIT, generateDataset, type SynthProgress } from '../../core/data/synth/generate';
import { bool, list, num, str } from '../args';
import type { Command } from '../command';
import { progressLine } from '../progress-line';

function parseSplit(raw: string[] | undefined): [number, number, number] {
  if (!raw) return DEFAULT_SPLIT;
  const v = raw.map(Number);
  if (v.length !== 3 || v.some((x) => !Number.isFinite(x))) {
    throw new ConfigError(`--split expects three numbers train,valid,test (e.g. 0.8,0.1,0.1), got '${raw.join(',')}'`, 'split');
  }
  return [v[0], v[1], v[2]];
}

function formatEta(s: number): string {
  if (s < 60) return `${Math.ceil(s)}s`;
  return `${Math.floor(s / 60)}m${String(Math.ceil(s % 60)).padStart(2, '0')}s`;
}

export const synthCommand: Command = {
  spec: {
    name: 'synth',
    summary: 'Generate the synthetic chest X-ray + report benchmark with word, box and mask ground truth',
    usage: 'reclf synth --out DIR --n N [--seed S] [--size 128] [--split 0.8,0.1,0.1] [--json]',
    flags: {
      out: { type: 'string', value: 'DIR', required: true, description: 'Dataset folder to write (new, empty, or a previous synth folder)' },
      n: { type: 'number', value: 'N', required: true, description: 'Number of studies' },
      seed: { type: 'number', value: 'S', default: 0, description: 'Seed; the same seed gives byte-identical files' },
      size: { type: 'number', value: 'PX', default: DEFAULT_SIZE, description: 'Image side in pixels' },
      split: { type: 'list', value: 'T,V,T', default: DEFAULT_SPLIT.map(String), description: 'Train,valid,test shares (sum 1)' },
      json: { type: 'boolean', description: 'Print the summary as JSON on stdout' },
    },
  },
  async run(ctx) {
    const { flags } = ctx.args;
    const out = str(flags, 'out') ?? '';
    const n = num(flags, 'n') ?? 0;
    const seed = num(flags, 'seed') ?? 0;
    const size = num(flags, 'size') ?? DEFAULT_SIZE;
    const split = parseSplit(list(flags, 'split'));
    const report = progressLine(ctx, 1000);
    const onProgress = (p: SynthProgress) => {
      const rate = p.done / Math.max(p.elapsed_s, 1e-6);
      report(`synth: ${p.done}/${p.total} (${Math.round((100 * p.done) / p.total)}%) ${rate.toFixed(1)} studies/s, ETA ${formatEta(p.eta_s)}`, p.done === p.total);
    };
    const summary = await generateDataset({ out, n, seed, size, split, onProgress });
    if (bool(flags, 'json')) {
      process.stdout.write(JSON.stringify(summary) + '\n');
    } else {
      const labels = Object.entries(summary.labels).map(([k, v]) => `${k} ${v}`).join(', ');
      process.stdout.write(
        `wrote ${summary.n} studies (${summary.size}px, seed ${summary.seed}) to ${summary.out} in ${summary.elapsed_s.toFixed(1)}s\n` +
        `splits: train ${summary.counts.train}, valid ${summary.counts.valid}, test ${summary.counts.test}; with mask: ${summary.with_mask}\n` +
        `positives: ${labels}\n`,
      );
    }
    return 0;
  },
};

// `reclf export`: a run's checkpoint -> an ONNX model following the contract (+ vocab next to it).
import path from 'node:path';
import { bool, str, UsageError } from '../args';
import type { Command } from '../command';
import { progressLine } from '../progress-line';
import { exportRun } from '../../core/export/export-run';
import { initBackend } from '../../core/runtime/backend';
import { formatDuration } from '../../core/train/progress';

export const exportCommand: Command = {
  spec: {
    name: 'export',
    summary: 'Export a run to ONNX (the model contract: embeddings, attention, relation, importance)',
    usage: 'reclf export --run RUN [--out RUN/model.onnx] [--checkpoint best|last|FILE] [--data DIR] [--json]',
    flags: {
      run: { type: 'string', value: 'RUN', required: true, description: 'Run folder (config.json, vocab.txt, checkpoints/)' },
      out: { type: 'string', value: 'FILE', description: 'ONNX file to write (default: RUN/model.onnx); the vocabulary goes to FILE.vocab.txt' },
      checkpoint: { type: 'string', value: 'WHICH', default: 'best', description: "Checkpoint: 'best', 'last' or a file name in RUN/checkpoints" },
      data: { type: 'string', value: 'DIR', description: "Describe this dataset's images in the metadata (pixel statistics of up to 2,000 train images, a threshold from its valid images), so `explain` says when an image is unlike them" },
      json: { type: 'boolean', description: 'Print the export summary as JSON on stdout' },
    },
  },
  async run(ctx) {
    const { flags } = ctx.args;
    const run = path.resolve(str(flags, 'run') as string);
    const out = path.resolve(str(flags, 'out') ?? path.join(run, 'model.onnx'));
    if (!out.toLowerCase().endsWith('.onnx')) throw new UsageError(`--out must end in .onnx, got ${out}`);
    await initBackend('cpu');
    const t0 = performance.now();
    const data = str(flags, 'data');
    // Decoding a large dataset's images takes minutes: one progress line, every 2 s at most.
    const report = progressLine(ctx, 2000);
    const onProgress = (done: number, total: number): void => {
      const eta = ((performance.now() - t0) / 1000 / done) * (total - done);
      report(`export: describing ${path.basename(path.resolve(data as string))}'s images ${done}/${total} (${Math.round((100 * done) / total)}%), ETA ${formatDuration(eta)}`, done === total);
    };
    const r = await exportRun(run, out, str(flags, 'checkpoint') ?? 'best', data ? { data: path.resolve(data), onProgress } : {});
    const summary = { ...r, seconds: (performance.now() - t0) / 1000 };
    if (bool(flags, 'json')) {
      process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
    } else {
      process.stdout.write(
        `Wrote ${r.model} (${(r.bytes / 1e6).toFixed(2)} MB, ${r.nodes} nodes, method ${r.metadata.method}, ` +
        `${r.metadata.image_encoder} at ${r.metadata.image_size} px, grid ${r.metadata.grid.join('x')}) ` +
        `from ${path.basename(r.checkpoint)} (step ${r.step}); vocabulary ${r.vocab}\n`,
      );
    }
    return 0;
  },
};

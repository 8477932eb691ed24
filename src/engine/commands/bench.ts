// `reclf bench ops`: GFLOP/s of the kernels training depends on and one transformer training
// step, per available TF.js backend, next to the same workloads in PyTorch measured in this run.
import { bool, num, str } from '../args';
import type { Command } from '../command';
import { BACKEND_ORDER, initBackend, probeBackends } from '../../core/runtime/backend';
import {
  benchActiveBackend, benchTorch, DEFAULT_SIZES, DEFAULT_TIMING, formatBenchTable, type BenchRow,
} from '../../core/runtime/bench-ops';

export const benchOps: Command = {
  spec: {
    name: 'bench ops',
    summary: 'Benchmark matmul/conv kernels and a transformer training step per backend vs PyTorch',
    usage: 'reclf bench ops [--backend NAME] [--reps N] [--no-torch] [--json]',
    flags: {
      backend: { type: 'string', value: 'NAME', description: `Only this backend (${BACKEND_ORDER.join(', ')}); default: every available one` },
      reps: { type: 'number', value: 'N', description: 'Timed repetitions per workload (median reported)', default: DEFAULT_TIMING.reps },
      warmup: { type: 'number', value: 'N', description: 'Untimed warm-up calls per workload', default: DEFAULT_TIMING.warmup },
      torch: { type: 'boolean', description: 'Also run the PyTorch peer (/usr/bin/python3, 2 threads)', default: true },
      'torch-threads': { type: 'number', value: 'N', description: 'PyTorch intra-op threads', default: 2 },
      json: { type: 'boolean', description: 'Print the rows as JSON on stdout instead of a table' },
    },
  },
  async run(ctx) {
    const f = ctx.args.flags;
    const timing = { reps: Math.max(1, num(f, 'reps') ?? DEFAULT_TIMING.reps), warmup: Math.max(0, num(f, 'warmup') ?? DEFAULT_TIMING.warmup) };
    const only = str(f, 'backend');
    let names: string[];
    if (only) {
      await initBackend(only);
      names = [only];
    } else {
      const probes = await probeBackends();
      names = probes.filter((p) => p.available).map((p) => p.name);
      for (const p of probes) if (!p.available) ctx.events.log(`skipping ${p.name}: ${p.reason}`);
    }
    const rows: BenchRow[] = [];
    for (const name of names) {
      const sel = await initBackend(name);
      ctx.events.log(`benchmarking ${name} on ${sel.device} ...`);
      // The pure-JS cpu backend is ~30x slower; fewer repetitions keep the command usable.
      const t = name === 'cpu' ? { reps: Math.min(timing.reps, 2), warmup: Math.min(timing.warmup, 1) } : timing;
      rows.push(...benchActiveBackend(name, DEFAULT_SIZES, t));
    }
    if (f.torch !== false) {
      ctx.events.log('benchmarking PyTorch peer ...');
      const torch = benchTorch(DEFAULT_SIZES, timing, num(f, 'torchThreads') ?? 2);
      if (torch.rows) rows.push(...torch.rows);
      else ctx.events.log(torch.error ?? 'PyTorch peer failed');
    }
    if (bool(f, 'json')) process.stdout.write(JSON.stringify({ sizes: DEFAULT_SIZES, rows }, null, 2) + '\n');
    else process.stdout.write(formatBenchTable(rows) + '\n');
    return 0;
  },
};

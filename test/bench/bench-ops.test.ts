import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/runtime/backend';
import {
  benchActiveBackend, benchScriptPath, formatBenchTable, timeMedian, timeOp, torchAvailable, type BenchSizes,
} from '../../src/bench/bench-ops';

const TINY: BenchSizes = {
  matmul: { m: 16, k: 8, n: 16 },
  bmm: { batch: 2, m: 4, k: 4, n: 4 },
  conv: { batch: 2, h: 8, w: 8, cin: 2, cout: 4, k: 3, stride: 1 },
  transformer: { batch: 2, seq: 4, dim: 8, heads: 2, layers: 1, ffn: 16 },
};

test('timeMedian awaits each call and returns the median', async () => {
  let calls = 0;
  const ms = await timeMedian(async () => {
    calls++;
    await new Promise((r) => setTimeout(r, 2));
  }, { warmup: 1, reps: 3 });
  assert.equal(calls, 4);
  assert.ok(ms >= 1, `${ms} ms`);
});

test('timeOp reads the result back and disposes it', async () => {
  await initBackend('cpu');
  const a = tf.ones([4, 4]);
  const before = tf.memory().numTensors;
  const ms = await timeOp(() => tf.matMul(a as tf.Tensor2D, a as tf.Tensor2D), { warmup: 1, reps: 2 });
  assert.ok(ms >= 0);
  assert.equal(tf.memory().numTensors, before);
  a.dispose();
});

for (const backend of ['wasm', 'cpu']) {
  test(`every ops workload runs (asynchronously read) on ${backend} without leaking tensors`, async () => {
    await initBackend(backend);
    const before = tf.memory().numTensors;
    const rows = await benchActiveBackend(backend, TINY, { warmup: 1, reps: 1 });
    assert.equal(tf.memory().numTensors, before);
    const names = rows.map((r) => r.name);
    for (const n of ['matmul 16x8x16', 'matmul 16x8x16 tA', 'matmul 16x8x16 tB', 'bmm 2x4x4x4', 'conv 2x8x8x2->4 k3s1 fwd', 'conv 2x8x8x2->4 k3s1 dx']) {
      assert.ok(names.includes(n), `${n} in ${names.join(', ')}`);
    }
    assert.ok(names.some((n) => n.startsWith('transformer step L1')));
    for (const r of rows) {
      assert.equal(r.backend, backend);
      assert.ok(r.ms > 0 && Number.isFinite(r.gflops ?? NaN), `${r.name}: ${r.ms} ms`);
    }
    assert.match(formatBenchTable(rows).split('\n')[0], new RegExp(`workload\\s+${backend} ms`));
  });
}

test('the PyTorch scripts are found from src/bench', () => {
  for (const s of ['torch_ops.py', 'torch_train.py', 'torch_embed.py']) assert.ok(benchScriptPath(s), s);
  assert.equal(benchScriptPath('nope.py'), undefined);
  assert.equal(torchAvailable('/nonexistent/python3'), false);
});

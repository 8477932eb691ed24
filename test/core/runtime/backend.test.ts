import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { BACKEND_ORDER, describeBackends, initBackend, isSoftwareAdapter, probeBackends } from '../../../src/core/runtime/backend';
import { isUserError } from '../../../src/core/errors';

test('probeBackends reports every backend in preference order, with reasons for the missing ones', async () => {
  const probes = await probeBackends();
  assert.deepEqual(probes.map((p) => p.name), [...BACKEND_ORDER]);
  const cpu = probes.find((p) => p.name === 'cpu')!;
  assert.equal(cpu.available, true);
  assert.ok((cpu.loadMs ?? -1) >= 0);
  for (const p of probes) {
    if (!p.available) assert.ok(p.reason && p.reason.length > 10, `${p.name} needs a reason`);
  }
  const text = describeBackends(probes);
  assert.equal(text.split('\n').length, probes.length);
  for (const p of probes) assert.match(text, new RegExp(p.name));
});

test('initBackend auto-selects the first backend that loads, passing over a software GPU adapter', async () => {
  const probes = await probeBackends();
  const first = probes.find((p) => p.available && !p.adapter?.software)!;
  const sel = await initBackend();
  assert.equal(sel.name, first.name);
  assert.equal(tf.getBackend(), first.name === 'tfjs-node' || first.name === 'tfjs-node-gpu' ? 'tensorflow' : first.name);
  assert.ok(sel.probes.length >= 1 && sel.probes[sel.probes.length - 1].available);
  const soft = probes.find((p) => p.adapter?.software);
  if (soft) assert.match(describeBackends(probes), /software adapter.*not chosen by auto/);
});

test('software adapters are recognised by architecture, fallback flag or driver name; hardware ones are not', () => {
  assert.equal(isSoftwareAdapter({ vendor: 'mesa', architecture: 'software', description: 'llvmpipe: Mesa 25.0.7' }), true);
  assert.equal(isSoftwareAdapter({ vendor: 'google', architecture: '', description: 'SwiftShader Device (Subzero)' }), true);
  assert.equal(isSoftwareAdapter({ vendor: 'x', architecture: 'y', description: 'z', isFallbackAdapter: true }), true);
  assert.equal(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100 80GB HBM3' }), false);
  assert.equal(isSoftwareAdapter({ vendor: 'apple', architecture: 'metal-3', description: 'Apple M2' }), false);
});

test('a webgpu probe describes its adapter and the limits that bound tensor sizes', async (t) => {
  const p = (await probeBackends()).find((x) => x.name === 'webgpu')!;
  if (!p.available) { t.skip(`webgpu unavailable: ${p.reason}`); return; }
  assert.ok(p.adapter && p.adapter.maxBufferSize > 0 && p.adapter.maxStorageBufferBindingSize > 0);
  const line = describeBackends([p]);
  assert.match(line, /WebGPU\/Dawn: /);
  assert.match(line, /max buffer [\d,]+ MiB, max storage binding [\d,]+ MiB/);
});

test('a forced backend is activated, an unknown or unavailable one is a ConfigError', async () => {
  const sel = await initBackend('cpu');
  assert.equal(sel.name, 'cpu');
  assert.equal(tf.getBackend(), 'cpu');
  await assert.rejects(initBackend('tpu'), (e: unknown) => isUserError(e) && /unknown backend 'tpu'/.test((e as Error).message));
  const probes = await probeBackends();
  const missing = probes.find((p) => !p.available);
  if (missing) {
    await assert.rejects(initBackend(missing.name), (e: unknown) => isUserError(e) && /unavailable.*Available here: .*cpu/.test((e as Error).message));
  }
});

test('wasm backend gets a Conv2DBackpropFilter kernel so tf.conv2d is differentiable', async (t) => {
  const probes = await probeBackends();
  if (!probes.find((p) => p.name === 'wasm')?.available) { t.skip('wasm unavailable'); return; }
  await initBackend('wasm');
  assert.ok(tf.getKernel('Conv2DBackpropFilter', 'wasm'));
  const before = tf.memory().numTensors;
  const x = tf.randomNormal([2, 5, 5, 3], 0, 1, 'float32', 1) as tf.Tensor4D;
  const w = tf.randomNormal([3, 3, 3, 4], 0, 1, 'float32', 2) as tf.Tensor4D;
  const gw = tf.grad((f: tf.Tensor) => tf.sum(tf.conv2d(x, f as tf.Tensor4D, 1, 'same')))(w);
  assert.deepEqual(gw.shape, [3, 3, 3, 4]);
  assert.ok(Array.from(gw.dataSync()).every(Number.isFinite));
  tf.dispose([x, w, gw]);
  assert.equal(tf.memory().numTensors, before);
  await initBackend('cpu');
});

// The engine log: third-party noise dropped, the backend probe list folded into one line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EngineLogFilter, runHeaderLine } from '../../src/extension/log-filter';

test('Dawn limit warnings and TF.js banners never reach the log; the probe list folds into the backend line', () => {
  const f = new EngineLogFilter();
  const out = [
    'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.',
    'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.',
    '============================',
    'Hi there 👋. Looks like you are running TensorFlow.js in Node.js. To speed things up dramatically, install our node backend, visit https://github.com/tensorflow/tfjs-node for more details.',
    'backend: wasm (cpu (wasm SIMD, XNNPACK, 1 thread))',
    '- tfjs-node-gpu  unavailable: not installed',
    '- tfjs-node      unavailable: not installed',
    '- webgpu         unavailable: no adapter',
    '+ wasm           available  cpu (loaded in 40 ms)',
    'training reclf on 160 studies',
  ].flatMap((l) => f.push(l)).map((l) => l.text);
  assert.deepEqual(out, [
    'backend: wasm on cpu (wasm SIMD, XNNPACK, 1 thread) (1 of 4 backends available; "RECLF: Show Backend Probes" lists them)',
    'training reclf on 160 studies',
  ]);
  assert.equal(f.lastProbes.length, 4);
  assert.match(f.lastProbes[2], /webgpu\s+unavailable: no adapter/);
  assert.equal(runHeaderLine('Train r1', 'wasm', 'cpu', 30), '── Train r1: wasm on cpu · resumed at step 30 ──');
});

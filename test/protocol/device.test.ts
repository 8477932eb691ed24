import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeDevice, deviceLabel, gpuName } from '../../src/protocol/device';

test('deviceLabel: a WebGPU GPU is its name (vendor and architecture dropped)', () => {
  assert.equal(deviceLabel('webgpu', 'gpu (WebGPU/Dawn: nvidia ampere NVIDIA H100)'), 'NVIDIA H100');
  assert.equal(deviceLabel('webgpu', 'gpu (WebGPU/Dawn: intel gen-12lp Intel(R) UHD Graphics 770)'), 'Intel(R) UHD Graphics 770');
  assert.equal(deviceLabel('webgpu', 'gpu (WebGPU/Dawn: apple metal-3 Apple M2 Pro)'), 'Apple M2 Pro');
  // no repeated vendor: the adapter text as it is
  assert.equal(deviceLabel('webgpu', 'gpu (WebGPU/Dawn: nvidia turing Tesla T4)'), 'nvidia turing Tesla T4');
  assert.equal(deviceLabel('webgpu', 'gpu (WebGPU/Dawn: unknown adapter)'), 'GPU (WebGPU)');
  assert.deepEqual(describeDevice('webgpu', 'gpu (WebGPU/Dawn: nvidia ampere NVIDIA H100)'), { kind: 'gpu', label: 'NVIDIA H100' });
});

test('deviceLabel: a software adapter is labelled as such', () => {
  assert.equal(deviceLabel('webgpu', 'gpu (WebGPU/Dawn: mesa software llvmpipe (LLVM 15.0.6, 256 bits))'), 'software GPU (llvmpipe)');
  assert.equal(deviceLabel('webgpu', 'gpu (WebGPU/Dawn: google  SwiftShader Device (Subzero))'), 'software GPU (SwiftShader)');
  assert.equal(deviceLabel('webgpu', 'gpu (WebGPU/Dawn: mesa software)'), 'software GPU');
  assert.equal(describeDevice('webgpu', 'gpu (WebGPU/Dawn: mesa software llvmpipe)')?.kind, 'software-gpu');
});

test('deviceLabel: the adapter field wins over the device string', () => {
  const h100 = { vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100 80GB HBM3', software: false };
  assert.equal(deviceLabel('webgpu', 'gpu (WebGPU/Dawn: whatever)', h100), 'NVIDIA H100 80GB HBM3');
  const llvmpipe = { vendor: 'mesa', architecture: 'software', description: 'llvmpipe (LLVM 15.0.6, 256 bits)', software: true };
  assert.deepEqual(describeDevice('webgpu', 'gpu (WebGPU/Dawn: mesa software llvmpipe)', llvmpipe), { kind: 'software-gpu', label: 'software GPU (llvmpipe)' });
  // the flag alone is enough, whatever the names say
  assert.equal(deviceLabel('webgpu', 'gpu', { vendor: 'acme', architecture: '', description: 'Rasteriser 3000', software: true }), 'software GPU (Rasteriser 3000)');
  assert.equal(deviceLabel('webgpu', 'gpu', { vendor: 'x', architecture: 'software', description: '', software: false }), 'software GPU');
  // no description: vendor and architecture
  assert.equal(deviceLabel('webgpu', 'gpu', { vendor: 'nvidia', architecture: 'ampere', description: '', software: false }), 'nvidia ampere');
  // an empty or malformed adapter falls back to the device string
  assert.equal(deviceLabel('webgpu', 'gpu (WebGPU/Dawn: nvidia ampere NVIDIA A100)', { vendor: '', architecture: '', description: '', software: false }), 'NVIDIA A100');
  assert.equal(deviceLabel('webgpu', 'gpu (WebGPU/Dawn: nvidia ampere NVIDIA A100)', { vendor: 3 } as never), 'NVIDIA A100');
});

test('deviceLabel: CPU backends are "cpu", CUDA is "GPU (CUDA)"', () => {
  assert.equal(deviceLabel('wasm', 'cpu (wasm SIMD, XNNPACK, 1 thread)'), 'cpu');
  assert.equal(deviceLabel('tfjs-node', 'cpu (TensorFlow C)'), 'cpu');
  assert.equal(deviceLabel('cpu', 'cpu (JavaScript)'), 'cpu');
  assert.equal(deviceLabel('cpu', 'cpu'), 'cpu');
  assert.equal(deviceLabel('tfjs-node-gpu', 'gpu (TensorFlow C, CUDA)'), 'GPU (CUDA)');
  assert.equal(describeDevice('tfjs-node-gpu', 'gpu (TensorFlow C, CUDA)')?.kind, 'gpu');
});

test('deviceLabel: from the backend alone, unknown text as it is, nothing from nothing', () => {
  assert.equal(deviceLabel('wasm', undefined), 'cpu');
  assert.equal(deviceLabel('webgpu', ''), 'GPU (WebGPU)');
  assert.equal(deviceLabel('tfjs-node-gpu', undefined), 'GPU (CUDA)');
  assert.equal(deviceLabel('onnxruntime', 'CUDA EP'), 'CUDA EP');
  assert.equal(deviceLabel(undefined, undefined), undefined);
  assert.equal(deviceLabel('', '  '), undefined);
});

test('gpuName drops a leading vendor/architecture only when the description repeats the vendor', () => {
  assert.equal(gpuName('amd rdna-3 AMD Radeon RX 7900 XTX'), 'AMD Radeon RX 7900 XTX');
  assert.equal(gpuName('nvidia NVIDIA GeForce RTX 4090'), 'NVIDIA GeForce RTX 4090');
  assert.equal(gpuName('  Radeon  '), 'Radeon');
});

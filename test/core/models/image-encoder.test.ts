import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createImageEncoder, imageEncoderMacs } from '../../../src/core/models/image-encoder';
import type { ImageEncoderConfig } from '../../../src/core/models/model-config';
import { ParamStore } from '../../../src/core/models/params';
import { Rng } from '../../../src/core/rng';

// tfjs registers variable names process-wide: every test disposes its store before the next builds.
function build(cfg: ImageEncoderConfig, seed = 1): { ps: ParamStore; enc: ReturnType<typeof createImageEncoder> } {
  const ps = new ParamStore(new Rng(seed));
  return { ps, enc: createImageEncoder(cfg, ps, '') };
}

function trainableCount(ps: ParamStore): number {
  return ps.trainable().reduce((n, v) => n + v.size, 0);
}

function shapeOf(ps: ParamStore, name: string): number[] {
  return [...ps.get(name).shape];
}

const cases: { cfg: ImageEncoderConfig; grid: [number, number]; local: number; global: number }[] = [
  { cfg: { name: 'cnn-small', imageSize: 128 }, grid: [8, 8], local: 80, global: 160 },
  { cfg: { name: 'resnet18', imageSize: 64 }, grid: [4, 4], local: 256, global: 512 },
  { cfg: { name: 'resnet50', imageSize: 48 }, grid: [3, 3], local: 1024, global: 2048 },
  { cfg: { name: 'vit-tiny', imageSize: 64, patchSize: 16, depth: 2 }, grid: [4, 4], local: 192, global: 192 },
  { cfg: { name: 'vit-small', imageSize: 64, patchSize: 8, depth: 1 }, grid: [8, 8], local: 384, global: 384 },
];

for (const c of cases) {
  test(`image encoder ${c.cfg.name}: output shapes and grid`, async () => {
    await tf.setBackend('cpu');
    const { ps, enc } = build(c.cfg);
    try {
      assert.deepEqual(enc.grid, c.grid);
      assert.equal(enc.localDim, c.local);
      assert.equal(enc.globalDim, c.global);
      assert.deepEqual(imageEncoderMacs(c.cfg).grid, c.grid);
      const x = tf.randomNormal([2, c.cfg.imageSize, c.cfg.imageSize, 1], 0, 1, 'float32', 7) as tf.Tensor4D;
      const out = enc.forward(x, false);
      assert.deepEqual(out.grid, c.grid);
      assert.deepEqual(out.local.shape, [2, c.grid[0] * c.grid[1], c.local]);
      assert.deepEqual(out.global.shape, [2, c.global]);
      assert.ok(Array.from(out.global.dataSync()).every(Number.isFinite));
      // The two images differ, so must their features.
      const g = out.global.arraySync() as number[][];
      assert.notDeepEqual(g[0], g[1]);
    } finally {
      ps.dispose();
    }
  });
}

// torchvision resnet18 has 11,689,512 parameters (3-channel conv1, fc 512->1000). Without fc
// (512*1000 + 1000 = 513,000) and with a 1-channel conv1 (64*2*7*7 = 6,272 fewer) that is 11,170,240.
// The same from the definition: conv1 64*1*49 = 3,136; bn1 2*64 = 128; BasicBlock(in,out) =
// 9*in*out + 9*out*out + 2*(2*out) (+ in*out + 2*out downsample when in != out or stride 2):
//   layer1 2*(73,728 + 256)                                      =   147,968
//   layer2 (73,728+147,456+8,192+768) + (2*147,456+512)          =   525,568
//   layer3 (294,912+589,824+32,768+1,536) + (2*589,824+1,024)    = 2,099,712
//   layer4 (1,179,648+2,359,296+131,072+3,072) + (2*2,359,296+2,048) = 8,393,728
//   total 3,136 + 128 + 147,968 + 525,568 + 2,099,712 + 8,393,728 = 11,170,240
function basicBlock(inC: number, outC: number, down: boolean): number {
  return 9 * inC * outC + 9 * outC * outC + 4 * outC + (down ? inC * outC + 2 * outC : 0);
}

// torchvision resnet50 has 25,557,032 parameters; without fc (2048*1000 + 1000 = 2,049,000) and with a
// 1-channel conv1 (6,272 fewer): 23,501,760. From the definition, Bottleneck(in, planes) =
// in*p + 9*p*p + p*4p + BN 2*(p + p + 4p) (+ in*4p + 2*4p downsample on each layer's first block).
function bottleneck(inC: number, p: number, down: boolean): number {
  return inC * p + 9 * p * p + p * 4 * p + 2 * (6 * p) + (down ? inC * 4 * p + 8 * p : 0);
}

test('resnet18: parameter count, names and layouts match torchvision (no fc, 1-channel conv1)', async () => {
  await tf.setBackend('cpu');
  const { ps } = build({ name: 'resnet18', imageSize: 64 });
  try {
    const byHand =
      3136 + 128 +
      2 * basicBlock(64, 64, false) +
      basicBlock(64, 128, true) + basicBlock(128, 128, false) +
      basicBlock(128, 256, true) + basicBlock(256, 256, false) +
      basicBlock(256, 512, true) + basicBlock(512, 512, false);
    assert.equal(byHand, 11_170_240);
    assert.equal(11_689_512 - 513_000 - 6_272, 11_170_240);
    assert.equal(trainableCount(ps), 11_170_240);
    // 20 convs (weight only) + 20 BNs (weight, bias, running_mean, running_var).
    assert.equal(ps.names().length, 20 + 20 * 4);
    assert.deepEqual(shapeOf(ps, 'conv1.weight'), [7, 7, 1, 64]);
    assert.deepEqual(shapeOf(ps, 'bn1.running_var'), [64]);
    assert.deepEqual(shapeOf(ps, 'layer1.0.conv1.weight'), [3, 3, 64, 64]);
    assert.deepEqual(shapeOf(ps, 'layer2.0.downsample.0.weight'), [1, 1, 64, 128]);
    assert.deepEqual(shapeOf(ps, 'layer2.0.downsample.1.running_mean'), [128]);
    assert.deepEqual(shapeOf(ps, 'layer4.1.bn2.bias'), [512]);
    assert.ok(!ps.has('layer1.0.downsample.0.weight'));
    assert.ok(!ps.has('fc.weight'));
    assert.ok(!ps.trainableNames().some((n) => n.includes('running_')));
  } finally {
    ps.dispose();
  }
});

test('resnet50: parameter count, names and layouts match torchvision (no fc, 1-channel conv1)', async () => {
  await tf.setBackend('cpu');
  const { ps } = build({ name: 'resnet50', imageSize: 48 });
  try {
    let byHand = 3136 + 128;
    let inC = 64;
    [[64, 3], [128, 4], [256, 6], [512, 3]].forEach(([p, n]) => {
      for (let i = 0; i < n; i++) {
        byHand += bottleneck(inC, p, i === 0);
        inC = 4 * p;
      }
    });
    assert.equal(byHand, 23_501_760);
    assert.equal(25_557_032 - 2_049_000 - 6_272, 23_501_760);
    assert.equal(trainableCount(ps), 23_501_760);
    // 53 convs + 53 BNs.
    assert.equal(ps.names().length, 53 + 53 * 4);
    assert.deepEqual(shapeOf(ps, 'layer1.0.conv3.weight'), [1, 1, 64, 256]);
    assert.deepEqual(shapeOf(ps, 'layer1.0.downsample.0.weight'), [1, 1, 64, 256]);
    assert.deepEqual(shapeOf(ps, 'layer3.5.bn3.running_var'), [1024]);
    assert.deepEqual(shapeOf(ps, 'layer4.0.conv2.weight'), [3, 3, 512, 512]);
  } finally {
    ps.dispose();
  }
});

test('vit-tiny: parameter count and names match timm (no head, 1-channel patch embedding)', async () => {
  await tf.setBackend('cpu');
  const { ps } = build({ name: 'vit-tiny', imageSize: 224, patchSize: 16, depth: 12 });
  try {
    // timm vit_tiny_patch16_224: 5,717,416 with the 192->1000 head (193,000) and a 3-channel
    // patch embedding (192*3*256; we have 192*1*256, 98,304 fewer) -> 5,426,112. By hand, D = 192:
    // block = 2 LN (4D) + qkv (3D^2 + 3D) + proj (D^2 + D) + fc1 (4D^2 + 4D) + fc2 (4D^2 + D) = 12D^2 + 13D
    const d = 192;
    const block = 12 * d * d + 13 * d;
    const byHand = 12 * block + (256 * d + d) + d + 197 * d + 2 * d;
    assert.equal(byHand, 5_426_112);
    assert.equal(5_717_416 - 193_000 - 98_304, 5_426_112);
    assert.equal(trainableCount(ps), 5_426_112);
    assert.equal(ps.names().length, 4 + 12 * 12 + 2);
    assert.deepEqual(shapeOf(ps, 'patch_embed.proj.weight'), [16, 16, 1, 192]);
    assert.deepEqual(shapeOf(ps, 'cls_token'), [1, 1, 192]);
    assert.deepEqual(shapeOf(ps, 'pos_embed'), [1, 197, 192]);
    assert.deepEqual(shapeOf(ps, 'blocks.11.attn.qkv.weight'), [192, 576]);
    assert.deepEqual(shapeOf(ps, 'blocks.0.mlp.fc1.weight'), [192, 768]);
    assert.deepEqual(shapeOf(ps, 'blocks.0.attn.proj.bias'), [192]);
    assert.deepEqual(shapeOf(ps, 'norm.weight'), [192]);
  } finally {
    ps.dispose();
  }
});

test('cnn-small: batchnorm train vs eval and recorded updates', async () => {
  await tf.setBackend('cpu');
  const { ps, enc } = build({ name: 'cnn-small', imageSize: 64 });
  try {
    const x = tf.randomNormal([2, 64, 64, 1], 0, 1, 'float32', 3) as tf.Tensor4D;
    const e1 = enc.forward(x, false).global.dataSync();
    const e2 = enc.forward(x, false).global.dataSync();
    assert.deepEqual(e1, e2, 'eval is deterministic');
    assert.equal(enc.batchNorms.pendingCount(), 0);
    const t = enc.forward(x, true).global.dataSync();
    assert.notDeepEqual(Array.from(t), Array.from(e1), 'training mode uses batch statistics');
    // stem + 3 downsamples + 4 blocks * 2 BNs
    assert.equal(enc.batchNorms.all.length, 12);
    assert.equal(enc.batchNorms.pendingCount(), 12);
    const before = ps.get('stem.1.running_mean').dataSync().slice();
    enc.batchNorms.applyPendingUpdates();
    const after = ps.get('stem.1.running_mean').dataSync();
    assert.equal(enc.batchNorms.pendingCount(), 0);
    assert.ok(before.every((v) => v === 0));
    assert.ok(after.some((v) => v !== 0), 'running mean moved');
  } finally {
    ps.dispose();
  }
});

test('cnn-small localStage 2 with localPooling false: the regions are the stage-2 map itself, on its own grid', async () => {
  await tf.setBackend('cpu');
  const cfg: ImageEncoderConfig = { name: 'cnn-small', imageSize: 64, widths: [4, 6, 8, 10], localStage: 2, localPooling: false };
  const { ps, enc } = build(cfg);
  try {
    const x = tf.randomNormal([1, 64, 64, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const out = enc.forward(x, false);
    assert.deepEqual(out.grid, [8, 8]);
    assert.deepEqual(enc.grid, [8, 8]);
    assert.deepEqual(out.local.shape, [1, 64, 6]);
    const stage2 = out.pyramid![0].arraySync() as number[][][][];
    const local = out.local.arraySync() as number[][][];
    for (const [r, c] of [[0, 0], [3, 5], [7, 7]]) {
      for (let ch = 0; ch < 6; ch++) assert.ok(Math.abs(local[0][r * 8 + c][ch] - stage2[0][r][c][ch]) < 1e-6, `region (${r}, ${c}) channel ${ch}`);
    }
    const shape = imageEncoderMacs(cfg);
    assert.deepEqual([shape.grid, shape.regions], [[8, 8], 64]);
  } finally {
    ps.dispose();
  }
});

test('cnn-small localStage 2: regions are the stage-2 map averaged over 2x2 cells, on the stage-3 grid', async () => {
  await tf.setBackend('cpu');
  const { ps, enc } = build({ name: 'cnn-small', imageSize: 64, widths: [4, 6, 8, 10], localStage: 2 });
  try {
    const x = tf.randomNormal([1, 64, 64, 1], 0, 1, 'float32', 5) as tf.Tensor4D;
    const out = enc.forward(x, false);
    assert.deepEqual(out.grid, [4, 4]);
    assert.deepEqual(out.local.shape, [1, 16, 6]);
    assert.equal(enc.localDim, 6);
    // Region (row 1, col 2) is the mean of stage-2 cells (2..3, 4..5).
    const stage2 = out.pyramid![0].arraySync() as number[][][][];
    const region = (out.local.arraySync() as number[][][])[0][1 * 4 + 2];
    for (let c = 0; c < 6; c++) {
      const mean = (stage2[0][2][4][c] + stage2[0][2][5][c] + stage2[0][3][4][c] + stage2[0][3][5][c]) / 4;
      assert.ok(Math.abs(region[c] - mean) < 1e-5, `channel ${c}: ${region[c]} vs ${mean}`);
    }
    assert.equal(imageEncoderMacs({ name: 'cnn-small', imageSize: 64, widths: [4, 6, 8, 10], localStage: 2 }).localDim, 6);
  } finally {
    ps.dispose();
  }
});

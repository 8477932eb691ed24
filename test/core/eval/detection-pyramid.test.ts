import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createImageEncoder } from '../../../src/core/models/image-encoder';
import type { ImageEncoderConfig } from '../../../src/core/models/model-config';
import { ParamStore } from '../../../src/core/models/params';
import { Rng } from '../../../src/core/rng';

// The detection head reads three scales, finest first; the CNNs' middle scale is the local map itself.
const cases: { cfg: ImageEncoderConfig; shapes: number[][]; middleIsLocal: boolean }[] = [
  { cfg: { name: 'cnn-small', imageSize: 64, widths: [8, 8, 16, 16] }, shapes: [[8, 8, 8], [4, 4, 16], [2, 2, 16]], middleIsLocal: true },
  { cfg: { name: 'resnet18', imageSize: 64 }, shapes: [[8, 8, 128], [4, 4, 256], [2, 2, 512]], middleIsLocal: true },
  { cfg: { name: 'vit-tiny', imageSize: 64, patchSize: 16, depth: 1 }, shapes: [[4, 4, 192], [2, 2, 192], [1, 1, 192]], middleIsLocal: false },
];

for (const c of cases) {
  test(`pyramid of ${c.cfg.name}: three maps [B, h, w, c], finest first; local and global unchanged`, async () => {
    await tf.setBackend('cpu');
    const ps = new ParamStore(new Rng(3));
    try {
      const enc = createImageEncoder(c.cfg, ps, '');
      const x = tf.randomUniform([2, c.cfg.imageSize, c.cfg.imageSize, 1], -1, 1, 'float32', 5) as tf.Tensor4D;
      const out = enc.forward(x, false);
      assert.ok(out.pyramid);
      assert.deepEqual(out.pyramid.map((p) => p.shape), c.shapes.map((s) => [2, ...s]));
      const [gh, gw] = out.grid;
      const localMap = tf.reshape(out.local, [2, gh, gw, out.local.shape[2]]);
      if (c.middleIsLocal) assert.deepEqual(Array.from(out.pyramid[1].dataSync()), Array.from(localMap.dataSync()));
      else assert.deepEqual(Array.from(out.pyramid[0].dataSync()), Array.from(localMap.dataSync()));
      // The last CNN stage pooled is the global vector.
      if (c.middleIsLocal) assert.deepEqual(Array.from(tf.mean(out.pyramid[2], [1, 2]).dataSync()), Array.from(out.global.dataSync()));
    } finally {
      ps.dispose();
    }
  });
}

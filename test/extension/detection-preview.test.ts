import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readDetectionPreview } from '../../src/extension/detection-preview';
import { isHostMessage } from '../../src/protocol/webview-messages';

test('readDetectionPreview: thumbnails inside RUN/eval only; none without a preview', () => {
  const run = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-detprev-host-'));
  assert.equal(readDetectionPreview(run), undefined);
  fs.mkdirSync(path.join(run, 'eval', 'detection-preview'), { recursive: true });
  fs.writeFileSync(path.join(run, 'eval', 'detection-preview', '0.png'), Buffer.from([0x89, 0x50, 0x4e, 0x47]));
  fs.writeFileSync(path.join(run, 'secret.png'), Buffer.from([1, 2, 3]));
  const im = (thumbnail: string) => ({ id: thumbnail, path: '/x.png', width: 100, height: 80, truth: [[1, 2, 3, 4]], predicted: [{ box: [5, 6, 7, 8], score: 0.9 }], thumbnail });
  fs.writeFileSync(path.join(run, 'eval', 'detection.json'), JSON.stringify({
    task: 'detection', preview: { task: 'detection', fraction: 0.1, seed: 0, images: [im('detection-preview/0.png'), im('../secret.png'), im('detection-preview/missing.png')] },
  }));
  const msg = readDetectionPreview(run, 'Detection');
  assert.ok(msg);
  assert.deepEqual(msg.images.map((i) => i.id), ['detection-preview/0.png']);
  assert.equal(msg.title, 'Detection (head trained on 10% of the boxes)');
  assert.ok(isHostMessage(msg));
  assert.equal(isHostMessage({ ...msg, images: [{ ...msg.images[0], truth: [[1, 2, 3]] }] }), false);
});

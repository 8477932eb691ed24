// `reclf explain` input checks (issue 14): --image and --report must be regular files within the
// limits (not /dev/zero, a FIFO or a folder), a report of random bytes or zero-width characters is
// refused as info and train refuse it, and a header over --max-image-pixels stops before decoding.
// Each refusal is one line naming the flag or file, exit 2, no stack trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { runMain } from '../helpers/run-main';
import { repoRoot } from '../helpers/tiny';

const run = runMain;

const model = path.join(repoRoot, 'models', 'reclf-default.onnx');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-explain-inputs-'));
const report = path.join(dir, 'report.txt');
fs.writeFileSync(report, 'Heart size normal. No pleural effusion.');
let image = '';

async function goodImage(): Promise<string> {
  if (!image) {
    image = path.join(dir, 'cxr.png');
    fs.writeFileSync(image, await sharp({ create: { width: 64, height: 64, channels: 3, background: '#777' } }).png().toBuffer());
  }
  return image;
}

function refused(r: { code: number; stdout: string; stderr: string }, re: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stdout, '');
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^reclf explain: /);
  assert.match(lines[0], re);
  assert.doesNotMatch(r.stderr, /internal error|\n\s+at /);
}

test('--image must be a regular file: /dev/zero, a FIFO and a folder are refused at once', async () => {
  if (fs.existsSync('/dev/zero')) refused(await run(['explain', '--model', model, '--image', '/dev/zero', '--report', report]), /--image: \/dev\/zero is a character device, not a regular file/);
  if (fs.existsSync('/dev/urandom')) refused(await run(['explain', '--model', model, '--image', '/dev/urandom', '--report', report]), /--image: \/dev\/urandom is a character device/);
  refused(await run(['explain', '--model', model, '--image', dir, '--report', report]), /--image: .* is a folder, not a regular file/);
  const fifo = path.join(dir, 'pipe.png');
  if (spawnSync('mkfifo', [fifo]).status === 0) {
    refused(await run(['explain', '--model', model, '--image', fifo, '--report', report]), /--image: .*pipe\.png is a FIFO \(named pipe\), not a regular file/);
  }
  refused(await run(['explain', '--model', model, '--image', path.join(dir, 'none.png'), '--report', report]), /--image: file not found: .*none\.png/);
});

test('--report must be a regular file of UTF-8 text with words; --report-text follows the same rule', async () => {
  const img = await goodImage();
  if (fs.existsSync('/dev/zero')) refused(await run(['explain', '--model', model, '--image', img, '--report', '/dev/zero']), /--report: \/dev\/zero is a character device/);
  refused(await run(['explain', '--model', model, '--image', img, '--report', dir]), /--report: .* is a folder/);
  const random = path.join(dir, 'random.txt');
  const bytes = Buffer.alloc(4096);
  let x = 3;
  for (let i = 0; i < bytes.length; i++) { x = (x * 1103515245 + 12345) >>> 0; bytes[i] = x >>> 24; }
  fs.writeFileSync(random, bytes);
  refused(await run(['explain', '--model', model, '--image', img, '--report', random]), /random\.txt: the report is not valid UTF-8 text/);
  const big = path.join(dir, 'big.txt');
  fs.writeFileSync(big, 'Effusion. '.repeat(120_000));
  refused(await run(['explain', '--model', model, '--image', img, '--report', big]), /--report: .*big\.txt is 1\.1 MiB, more than the 1 MiB limit/);
  const zw = path.join(dir, 'zw.txt');
  fs.writeFileSync(zw, '\u200b\u200b\u200b');
  refused(await run(['explain', '--model', model, '--image', img, '--report', zw]), /zw\.txt: the report has no words/);
});

test('an image whose header is over --max-image-pixels is refused before decoding; the model runs on a good one', { skip: !fs.existsSync(model) && 'bundled model absent' }, async () => {
  const img = await goodImage();
  refused(await run(['explain', '--model', model, '--image', img, '--report', report, '--max-image-pixels', '1000']),
    /cxr\.png: image is 64x64 \(4096 pixels\), more than the 1000 pixels limit \(data\.maxImagePixels\)/);
  refused(await run(['explain', '--model', model, '--image', img, '--report-text', '\u200b']), /report: the report has no words/);
  const ok = await run(['explain', '--model', model, '--image', img, '--report', report, '--json']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.ok(JSON.parse(ok.stdout).words.length > 3);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { encodeGreyPng } from '../../../../src/core/data/synth/png';

test('encodeGreyPng round-trips through a real PNG decoder and is deterministic', async () => {
  const w = 37;
  const h = 23;
  const px = new Uint8Array(w * h);
  for (let i = 0; i < px.length; i++) px[i] = (i * 37 + (i >> 3) * 11) & 0xff;
  const png = encodeGreyPng(px, w, h);
  assert.ok(png.equals(encodeGreyPng(px, w, h)));
  const meta = await sharp(png).metadata();
  assert.equal(meta.width, w);
  assert.equal(meta.height, h);
  assert.equal(meta.channels, 1);
  assert.equal(meta.depth, 'uchar');
  const { data } = await sharp(png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual(new Uint8Array(data), px);
});

test('encodeGreyPng rejects a buffer of the wrong length', () => {
  assert.throws(() => encodeGreyPng(new Uint8Array(5), 2, 2), /expected 4 bytes/);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeSafetensors, encodeSafetensors } from '../../../src/core/io/safetensors';

test('round-trips float32 tensors and metadata, header 8-byte aligned', () => {
  const buf = encodeSafetensors(
    { b: { shape: [2], data: new Float32Array([1.5, -2]) }, a: { shape: [2, 2], data: new Float32Array([1, 2, 3, 4]) } },
    { note: 'x' },
  );
  const headerLen = Number(buf.readBigUInt64LE(0));
  assert.equal((8 + headerLen) % 8, 0);
  const header = JSON.parse(buf.subarray(8, 8 + headerLen).toString());
  // Sorted by name: a first at offset 0 (16 bytes), then b.
  assert.deepEqual(header.a.data_offsets, [0, 16]);
  assert.deepEqual(header.b.data_offsets, [16, 24]);
  const back = decodeSafetensors(buf);
  assert.deepEqual([...back.tensors.a.data], [1, 2, 3, 4]);
  assert.deepEqual(back.tensors.a.shape, [2, 2]);
  assert.deepEqual([...back.tensors.b.data], [1.5, -2]);
  assert.equal(back.metadata.note, 'x');
});

test('reads F16, BF16 and I64 as float32', () => {
  const header = JSON.stringify({
    h: { dtype: 'F16', shape: [2], data_offsets: [0, 4] },
    b: { dtype: 'BF16', shape: [1], data_offsets: [4, 6] },
    i: { dtype: 'I64', shape: [1], data_offsets: [6, 14] },
  });
  const hb = Buffer.from(header);
  const buf = Buffer.alloc(8 + hb.length + 14);
  buf.writeBigUInt64LE(BigInt(hb.length));
  hb.copy(buf, 8);
  const d = 8 + hb.length;
  buf.writeUInt16LE(0x3c00, d); // 1.0 in half
  buf.writeUInt16LE(0xc000, d + 2); // -2.0 in half
  buf.writeUInt16LE(0x4040, d + 4); // 3.0 in bfloat16
  buf.writeBigInt64LE(-7n, d + 6);
  const t = decodeSafetensors(buf).tensors;
  assert.deepEqual([...t.h.data], [1, -2]);
  assert.deepEqual([...t.b.data], [3]);
  assert.deepEqual([...t.i.data], [-7]);
});

test('a truncated or inconsistent file is a DataError naming the file', () => {
  const buf = encodeSafetensors({ a: { shape: [4], data: new Float32Array(4) } });
  assert.throws(() => decodeSafetensors(buf.subarray(0, buf.length - 4), 'w.safetensors'), /w\.safetensors: tensor a/);
  assert.throws(() => decodeSafetensors(Buffer.from([1, 2, 3]), 'x.safetensors'), /x\.safetensors: too short/);
});

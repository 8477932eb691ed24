// Reading tensors back to the host. GPU backends (WebGPU on Dawn) have no synchronous read-back
// in Node, and every read is a round trip that stalls the device queue, so callers gather what
// they need and read it in one go.
import * as tf from '@tensorflow/tfjs-core';

/**
 * Values of `tensors` as float32 arrays, in one device round trip: the tensors are flattened
 * and concatenated on the device, read once, and split on the host. Inputs are not disposed.
 */
export async function readAll(tensors: readonly tf.Tensor[]): Promise<Float32Array[]> {
  if (tensors.length === 0) return [];
  if (tensors.length === 1) return [toFloat32(await tensors[0].data())];
  const flat = tf.tidy(() => tf.concat(tensors.map((t) => tf.reshape(t.dtype === 'float32' ? t : tf.cast(t, 'float32'), [-1]))));
  let all: Float32Array;
  try {
    all = toFloat32(await flat.data());
  } finally {
    flat.dispose();
  }
  const out: Float32Array[] = [];
  let offset = 0;
  for (const t of tensors) {
    out.push(all.subarray(offset, offset + t.size));
    offset += t.size;
  }
  return out;
}

/** readAll, then disposes the tensors (also when the read fails). */
export async function readAllAndDispose(tensors: readonly tf.Tensor[]): Promise<Float32Array[]> {
  try {
    return await readAll(tensors);
  } finally {
    tf.dispose([...tensors]);
  }
}

/** One tensor's values as float32 (a single round trip). */
export async function readOne(t: tf.Tensor): Promise<Float32Array> {
  return toFloat32(await t.data());
}

/** The value of a scalar (or the first element of a tensor). */
export async function readScalar(t: tf.Tensor): Promise<number> {
  return (await t.data())[0] as number;
}

function toFloat32(d: tf.TypedArray | string[] | Uint8Array[]): Float32Array {
  if (d instanceof Float32Array) return d;
  return Float32Array.from(d as ArrayLike<number>);
}

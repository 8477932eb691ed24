// Tiny hand-written batch (B=2, N=3 with one padded word in report 0, M=2, D=3) shared by the align tests.
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import type { AlignInputs } from '../../../src/core/align/types';
import type { Mat } from './ref';

export const WORDS: Mat[] = [
  [[0.5, -0.2, 0.8], [0.1, 0.9, -0.3], [9, 9, 9]],
  [[-0.4, 0.3, 0.6], [0.7, 0.2, 0.1], [0.2, -0.6, 0.5]],
];
export const MASK: Mat = [[1, 1, 0], [1, 1, 1]];
export const REGIONS: Mat[] = [
  [[0.3, 0.1, 0.9], [-0.5, 0.4, 0.2]],
  [[0.6, -0.3, 0.1], [0.2, 0.8, -0.4]],
];
export const IMG: Mat = [[0.2, 0.5, -0.1], [0.4, -0.3, 0.7]];
export const TXT: Mat = [[0.3, 0.4, 0.0], [0.1, -0.2, 0.9]];
export const CLS: Mat = [[0.3, 0.6, 0.1], [0.2, 0.5, 0.3]];

export async function useCpu(): Promise<void> {
  await tf.setBackend('cpu');
}

export function tinyInputs(over: Partial<{ words: Mat[]; mask: Mat; regions: Mat[] }> = {}): AlignInputs {
  return {
    words: tf.tensor3d(over.words ?? WORDS),
    wordMask: tf.tensor2d(over.mask ?? MASK),
    regions: tf.tensor3d(over.regions ?? REGIONS),
    imageGlobal: tf.tensor2d(IMG),
    textGlobal: tf.tensor2d(TXT),
    clsAttention: tf.tensor2d(CLS),
  };
}

/** Seeded random inputs with variables for the encoder outputs (gradient checks). */
export function randomInputs(b: number, n: number, m: number, d: number, seed: number): AlignInputs {
  let s = seed >>> 0;
  const rnd = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
  const t = (shape: number[]) => tf.tensor(Array.from({ length: shape.reduce((a, x) => a * x, 1) }, rnd), shape);
  const mask: number[] = [];
  for (let i = 0; i < b; i++) for (let j = 0; j < n; j++) mask.push(j < n - 1 - (i % 2) ? 1 : 0);
  return {
    words: t([b, n, d]) as tf.Tensor3D,
    wordMask: tf.tensor2d(mask, [b, n]),
    regions: t([b, m, d]) as tf.Tensor3D,
    imageGlobal: t([b, d]) as tf.Tensor2D,
    textGlobal: t([b, d]) as tf.Tensor2D,
    clsAttention: tf.abs(t([b, n])) as tf.Tensor2D,
  };
}

export function close(actual: number, expected: number, tol = 1e-4, what = ''): void {
  if (!(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)))) {
    throw new Error(`${what}: expected ${expected}, got ${actual}`);
  }
}

export function closeArr(actual: ArrayLike<number>, expected: number[], tol = 1e-4, what = ''): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} != ${expected.length}`);
  for (let i = 0; i < expected.length; i++) close(actual[i], expected[i], tol, `${what}[${i}]`);
}

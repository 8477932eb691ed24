import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { createTextEncoder } from '../../../src/core/models/bert';
import type { TextEncoderConfig } from '../../../src/core/models/model-config';
import { ParamStore } from '../../../src/core/models/params';
import { Rng } from '../../../src/core/rng';

const small: TextEncoderConfig = { layers: 2, hidden: 32, heads: 4, intermediate: 64, maxLength: 16, vocabSize: 100, dropout: 0 };

// Hugging Face BertModel minus the pooler: embeddings V*H + P*H + 2*H (token types) + 2H (LayerNorm);
// per layer 4 (H*H + H) (query, key, value, attention output) + 2H + (H*I + I) + (I*H + H) + 2H.
function hfBertCount(c: { vocab: number; pos: number; h: number; i: number; layers: number }): number {
  const emb = c.vocab * c.h + c.pos * c.h + 2 * c.h + 2 * c.h;
  const layer = 4 * (c.h * c.h + c.h) + 2 * c.h + (c.h * c.i + c.i) + (c.i * c.h + c.h) + 2 * c.h;
  return emb + c.layers * layer;
}

test('bert: parameter count follows HF BertModel (without pooler), HF names and TF layout', async () => {
  await tf.setBackend('cpu');
  // bert-base-uncased reports 109,482,240 parameters including the pooler (768*768 + 768).
  assert.equal(hfBertCount({ vocab: 30522, pos: 512, h: 768, i: 3072, layers: 12 }), 109_482_240 - 590_592);
  const ps = new ParamStore(new Rng(1));
  try {
    createTextEncoder(small, ps, 'bert');
    const n = ps.trainable().reduce((a, v) => a + v.size, 0);
    assert.equal(n, hfBertCount({ vocab: 100, pos: 16, h: 32, i: 64, layers: 2 }));
    assert.equal(ps.names().length, 5 + 2 * 16);
    const shape = (name: string): number[] => [...ps.get(`bert.${name}`).shape];
    assert.deepEqual(shape('embeddings.word_embeddings.weight'), [100, 32]);
    assert.deepEqual(shape('embeddings.position_embeddings.weight'), [16, 32]);
    assert.deepEqual(shape('embeddings.token_type_embeddings.weight'), [2, 32]);
    assert.deepEqual(shape('embeddings.LayerNorm.weight'), [32]);
    assert.deepEqual(shape('encoder.layer.0.attention.self.query.weight'), [32, 32]);
    assert.deepEqual(shape('encoder.layer.0.attention.output.LayerNorm.bias'), [32]);
    assert.deepEqual(shape('encoder.layer.1.intermediate.dense.weight'), [32, 64]);
    assert.deepEqual(shape('encoder.layer.1.output.dense.weight'), [64, 32]);
    assert.deepEqual(shape('encoder.layer.1.output.LayerNorm.weight'), [32]);
    assert.ok(!ps.has('bert.pooler.dense.weight'));
  } finally {
    ps.dispose();
  }
});

test('bert: shapes, [CLS] attention, and padding is invisible to real pieces', async () => {
  await tf.setBackend('cpu');
  const ps = new ParamStore(new Rng(2));
  try {
    const enc = createTextEncoder(small, ps, 'bert');
    const mask = tf.tensor2d([[1, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1]]);
    const a = enc.forward(tf.tensor2d([[2, 10, 11, 3, 0, 0], [2, 12, 13, 14, 15, 3]], [2, 6], 'int32'), mask, false);
    assert.deepEqual(a.tokens.shape, [2, 6, 32]);
    assert.deepEqual(a.cls.shape, [2, 32]);
    assert.deepEqual(a.clsAttention.shape, [2, 6]);
    const att = a.clsAttention.arraySync() as number[][];
    for (const row of att) assert.ok(Math.abs(row.reduce((s, v) => s + v, 0) - 1) < 1e-5, 'attention rows sum to 1');
    assert.ok(att[0][4] < 1e-6 && att[0][5] < 1e-6, 'no attention to padding');
    assert.deepEqual(Array.from(a.cls.dataSync().slice(0, 32)), Array.from(a.tokens.dataSync().slice(0, 32)));
    // Different ids under padding must not change the real pieces.
    const b = enc.forward(tf.tensor2d([[2, 10, 11, 3, 55, 66], [2, 12, 13, 14, 15, 3]], [2, 6], 'int32'), mask, false);
    const ra = a.tokens.slice([0, 0, 0], [1, 4, 32]).dataSync();
    const rb = b.tokens.slice([0, 0, 0], [1, 4, 32]).dataSync();
    ra.forEach((v, i) => assert.ok(Math.abs(v - rb[i]) < 1e-5));
    assert.throws(() => enc.forward(tf.zeros([1, 17], 'int32') as tf.Tensor2D, tf.ones([1, 17]) as tf.Tensor2D, false), /maxLength is 16/);
  } finally {
    ps.dispose();
  }
});

test('bert: localLayer picks the hidden states of the word-level features (0 = no report context)', async () => {
  await tf.setBackend('cpu');
  const ps = new ParamStore(new Rng(2));
  try {
    const ids = (tail: number): tf.Tensor2D => tf.tensor2d([[2, 10, 11, tail, 3]], [1, 5], 'int32');
    const mask = tf.ones([1, 5]) as tf.Tensor2D;
    const flat = createTextEncoder({ ...small, localLayer: 0 }, ps, 'bert');
    const a = flat.forward(ids(12), mask, false);
    const b = flat.forward(ids(13), mask, false);
    // Embedding-level features of piece 1 do not depend on a later piece; last-layer ones do.
    const diff = (x: tf.Tensor3D, y: tf.Tensor3D): number => tf.max(tf.abs(tf.sub(x.slice([0, 1, 0], [1, 1, -1]), y.slice([0, 1, 0], [1, 1, -1])))).arraySync() as number;
    assert.equal(diff(a.localTokens, b.localTokens), 0);
    assert.ok(diff(a.tokens, b.tokens) > 1e-4, 'the last layer mixes context');
    const last = createTextEncoder(small, ps, 'bert');
    const c = last.forward(ids(12), mask, false);
    assert.equal(c.localTokens, c.tokens, 'default: the last layer');
  } finally {
    ps.dispose();
  }
});

test('bert: localPositions false gives embedding-level features without the position rows: a piece is the same wherever it sits', async () => {
  await tf.setBackend('cpu');
  const ps = new ParamStore(new Rng(2));
  try {
    // Piece 10 at places 1 and 3.
    const ids = tf.tensor2d([[2, 10, 11, 10, 3]], [1, 5], 'int32');
    const mask = tf.ones([1, 5]) as tf.Tensor2D;
    const piece = (x: tf.Tensor3D, k: number): tf.Tensor => x.slice([0, k, 0], [1, 1, -1]);
    const gap = (x: tf.Tensor, y: tf.Tensor): number => tf.max(tf.abs(tf.sub(x, y))).arraySync() as number;
    const free = createTextEncoder({ ...small, localLayer: 0, localPositions: false }, ps, 'bert').forward(ids, mask, false);
    assert.ok(gap(piece(free.localTokens, 1), piece(free.localTokens, 3)) < 1e-6, 'same piece, same feature');
    // What it is: LayerNorm(word embedding + token type 0), with the encoder's embedding LayerNorm.
    const w = ps.get('bert.embeddings.word_embeddings.weight').slice([10, 0], [1, -1]);
    const ln = tf.moments(tf.add(w, ps.get('bert.embeddings.token_type_embeddings.weight').slice([0, 0], [1, -1])), -1, true);
    const want = tf.add(tf.mul(tf.div(tf.sub(tf.add(w, ps.get('bert.embeddings.token_type_embeddings.weight').slice([0, 0], [1, -1])), ln.mean), tf.sqrt(tf.add(ln.variance, 1e-12))), ps.get('bert.embeddings.LayerNorm.weight')), ps.get('bert.embeddings.LayerNorm.bias'));
    assert.ok(gap(piece(free.localTokens, 1).reshape([1, -1]), want) < 1e-5, 'LayerNorm(word + type)');
    // With positions (the default) the two places differ; the encoder's own outputs are unchanged by the switch.
    const withPos = createTextEncoder({ ...small, localLayer: 0 }, ps, 'bert').forward(ids, mask, false);
    assert.ok(gap(piece(withPos.localTokens, 1), piece(withPos.localTokens, 3)) > 1e-3, 'positions tell the places apart');
    assert.equal(gap(withPos.tokens, free.tokens), 0);
  } finally {
    ps.dispose();
  }
});

test('bert: dropout is seeded (same seed, same masks) and off in eval mode', async () => {
  await tf.setBackend('cpu');
  const ids = tf.tensor2d([[2, 10, 11, 3]], [1, 4], 'int32');
  const mask = tf.ones([1, 4]) as tf.Tensor2D;
  const run = (training: boolean): Float32Array => {
    const ps = new ParamStore(new Rng(3));
    try {
      const enc = createTextEncoder({ ...small, dropout: 0.1, seed: 9 }, ps, 'bert');
      return enc.forward(ids, mask, training).tokens.dataSync() as Float32Array;
    } finally {
      ps.dispose();
    }
  };
  const t1 = run(true);
  const t2 = run(true);
  const e = run(false);
  assert.deepEqual(t1, t2);
  assert.notDeepEqual(Array.from(t1), Array.from(e));
});

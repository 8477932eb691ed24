// BERT (post-LN, HF names) and piece -> word pooling as ONNX, mirroring bert.ts and
// word-pooling.ts in eval mode. The sequence length T and batch B stay symbolic.
import { attr } from './graph-builder';
import type { OnnxOps } from './onnx-ops';
import type { TextEncoderConfig } from '../models/model-config';

export interface OnnxTextFeatures {
  /** Last-layer hidden states [B, T, H]. */
  tokens: string;
  /** Hidden states of the layer `localLayer` selects [B, T, H] (bert.ts's localTokens). */
  localTokens: string;
  /** [CLS] state [B, H]. */
  cls: string;
  /** Last-layer [CLS] attention, mean over heads [B, T]. */
  clsAttention: string;
}

const LN_EPS = 1e-12;

/** inputIds int64 [B, T]; maskF float [B, T] (1 = real piece). */
export function exportBert(o: OnnxOps, cfg: TextEncoderConfig, inputIds: string, maskF: string, prefix: string): OnnxTextFeatures {
  const h = cfg.hidden;
  const p = (n: string): string => `${prefix}.${n}`;
  const words = o.g.op('Gather', [o.p(p('embeddings.word_embeddings.weight')), inputIds], { axis: attr.i(0) });
  // Position rows [0, T) with T read from the input, so any length up to maxLength works.
  const t = o.dim(inputIds, 1);
  const pos = o.g.op('Slice', [o.p(p('embeddings.position_embeddings.weight')), o.g.constI([0]), t, o.g.constI([0])]);
  const type0 = o.slice(o.p(p('embeddings.token_type_embeddings.weight')), 0, 0, 1);
  let x = o.layerNorm(o.add(o.add(words, pos), type0), p('embeddings.LayerNorm'), LN_EPS);
  const keyMask = o.unsqueeze(maskF, [1, 2]); // [B, 1, 1, T]
  let clsAttention = '';
  const localAt = cfg.localLayer ?? cfg.layers;
  // bert.ts: localPositions false (localLayer 0 only) leaves the position rows out of the local features.
  let localTokens = cfg.localPositions === false ? o.layerNorm(o.add(words, type0), p('embeddings.LayerNorm'), LN_EPS) : x;
  for (let i = 0; i < cfg.layers; i++) {
    const l = p(`encoder.layer.${i}`);
    const q = o.dense(x, `${l}.attention.self.query`);
    const k = o.dense(x, `${l}.attention.self.key`);
    const v = o.dense(x, `${l}.attention.self.value`);
    const attn = o.attention(q, k, v, cfg.heads, h, keyMask);
    if (i === cfg.layers - 1) {
      // probs[:, :, 0, :] averaged over heads: [B, T].
      clsAttention = o.meanAxes(o.slice(attn.probs, 2, 0, 1), [1, 2], false);
    }
    const a = o.layerNorm(o.add(o.dense(attn.out, `${l}.attention.output.dense`), x), `${l}.attention.output.LayerNorm`, LN_EPS);
    const ff = o.dense(o.gelu(o.dense(a, `${l}.intermediate.dense`)), `${l}.output.dense`);
    x = o.layerNorm(o.add(ff, a), `${l}.output.LayerNorm`, LN_EPS);
    if (i + 1 === localAt) localTokens = x;
  }
  if (!clsAttention) clsAttention = o.div(maskF, o.sumAxis(maskF, 1, true));
  return { tokens: x, localTokens, cls: o.squeeze(o.slice(x, 1, 0, 1), [1]), clsAttention };
}

/**
 * The [B, N, T] 0/1 matrix P[b, n, t] = (word_ids[b, t] == n) and the word mask [B, N]
 * (word-pooling.ts's wordAssignment; ids -1 and >= N select no slot).
 */
export function exportWordAssignment(o: OnnxOps, wordIds: string, maxWords: number): { matrix: string; mask: string } {
  const slots = o.g.constI(Array.from({ length: maxWords }, (_, i) => i), [1, maxWords, 1]);
  const matrix = o.castF(o.g.op('Equal', [o.unsqueeze(wordIds, [1]), slots]));
  const mask = o.g.op('ReduceMax', [matrix], { axes: attr.ints([2]), keepdims: attr.i(0) });
  return { matrix, mask };
}

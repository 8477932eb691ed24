// The alignment methods' `explain` (matched pairs: image b with report b) as ONNX, mirroring
// src/core/align/{convirt,gloria,mgca,reclf,srm,irm,local-attention,mlip/mlip}.ts term by term.
import { attr, DataType } from './graph-builder';
import type { OnnxOps } from './onnx-ops';
import { resolveMethodConfig } from '../align/method-config';
import { hasWordScores, lsePooling, needsMatchingVectors, srmOnWords, toReclfConfig, uniformPooling, type ReclfConfig } from '../align/reclf-config';
import { BALANCE_EPS, localityBias, offsetOneHot, SPATIAL_PRIOR_FLOOR } from '../align/srm';
import { asMlipConfig, MLIP_VARIANTS } from '../align/mlip/config';
import { MLIP_PREFIX } from '../align/mlip/mlip';

export interface OnnxAlignInputs {
  regions: string; // [B, M, D]
  words: string; // [B, N, D]
  wordMask: string; // [B, N]
  clsAttention: string; // [B, N]
}

export interface OnnxExplanation {
  attention: string; // [B, N, M]
  relation: string; // [B, N, N]
  importance: string; // [B, N]
  localScore: string; // [B]
  /** Attended region context of each word [B, N, D] (for per-word scores). */
  context: string;
  /** Graph inputs the method declared beyond the contract's (e.g. MLIP's entity_ids). */
  extraInputs?: string[];
}

/** MLIP's extra input: knowledge-base entity row of each word slot [B, N] int64, -1 = not linked. */
export const ENTITY_IDS_INPUT = 'entity_ids';

interface Dims {
  maxWords: number;
}

function pairedAttention(o: OnnxOps, x: OnnxAlignInputs, gamma1: number, contextMode = 'attended', kind = 'gloria', relation?: string): { attention: string; context: string } {
  let a: string;
  if (kind === 'cosine') {
    a = o.softmax(o.mulS(o.matmul(o.l2norm(x.words), o.transpose(o.l2norm(x.regions), [0, 2, 1])), gamma1));
  } else {
    const s = o.matmul(x.regions, o.transpose(x.words, [0, 2, 1])); // [B, M, N]
    const overWords = o.maskedSoftmax(s, o.unsqueeze(x.wordMask, [1]));
    a = o.softmax(o.mulS(o.transpose(overWords, [0, 2, 1]), gamma1));
  }
  if (relation) {
    // srm.ts's spatialPrior: a_i * (sum_k E_ik a_k + floor * mean_j a_ij), renormalised over regions.
    const w = o.mul(a, o.add(o.matmul(relation, a), o.mulS(o.meanAxes(a, [-1], true), SPATIAL_PRIOR_FLOOR)));
    a = o.div(w, o.sumAxis(w, -1, true));
  }
  const regions = contextMode === 'centered' ? o.sub(x.regions, o.meanAxes(x.regions, [1], true)) : x.regions;
  return { attention: a, context: o.matmul(a, regions) };
}

function zeroMaskedRows(o: OnnxOps, t: string, mask: string): string {
  return o.mul(t, o.unsqueeze(mask, [2]));
}

function identityRelation(o: OnnxOps, mask: string, n: number): string {
  const eye = Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? 1 : 0));
  return o.mul(o.g.constF(eye, [1, n, n]), o.unsqueeze(mask, [2]));
}

function convirt(o: OnnxOps, x: OnnxAlignInputs, cfg: Record<string, unknown>, d: Dims): OnnxExplanation {
  const gamma1 = cfg.gamma1 as number;
  const cos = o.matmul(o.l2norm(x.words), o.transpose(o.l2norm(x.regions), [0, 2, 1]));
  const a = o.softmax(o.mulS(cos, gamma1));
  const context = o.matmul(a, x.regions);
  return {
    attention: zeroMaskedRows(o, a, x.wordMask),
    relation: identityRelation(o, x.wordMask, d.maxWords),
    importance: o.uniformOverMask(x.wordMask),
    localScore: o.maskedMean(o.rowCosine(x.words, context), x.wordMask),
    context,
  };
}

function gloria(o: OnnxOps, x: OnnxAlignInputs, cfg: Record<string, unknown>, d: Dims): OnnxExplanation {
  const { attention, context } = pairedAttention(o, x, cfg.gamma1 as number);
  const r = o.rowCosine(x.words, context);
  return {
    attention: zeroMaskedRows(o, attention, x.wordMask),
    relation: identityRelation(o, x.wordMask, d.maxWords),
    importance: o.uniformOverMask(x.wordMask),
    localScore: o.maskedLogSumExp(o.mulS(r, cfg.gamma2 as number), x.wordMask),
    context,
  };
}

/**
 * mgca.clipWordWeights: per report, the real words' [CLS] attention clipped to its [low, high]
 * linear-interpolation quantiles, renormalised over real words (uniform when it sums to 0).
 * Quantiles come from an ascending TopK with padded words pushed to the end.
 */
function clipWordWeights(o: OnnxOps, cls: string, mask: string, n: number, low: number, high: number): string {
  const g = o.g;
  const real = g.op('Greater', [mask, g.constF(0)]);
  const sorted = g.opN('TopK', [g.op('Where', [real, cls, g.constF(3e38)]), g.constI([n])], 2, {
    axis: attr.i(-1), largest: attr.i(0), sorted: attr.i(1),
  })[0];
  const count = o.sumAxis(mask, -1, true); // [B, 1]
  const quantile = (q: number): string => {
    const pos = o.mulS(o.addS(count, -1), q);
    const lo = g.op('Floor', [pos]);
    const hi = g.op('Ceil', [pos]);
    const at = (idx: string): string => g.op('GatherElements', [sorted, o.castI(idx)], { axis: attr.i(1) });
    const vLo = at(lo);
    return o.add(vLo, o.mul(o.sub(at(hi), vLo), o.sub(pos, lo)));
  };
  const lo = quantile(low);
  const hi = quantile(high);
  const clipped = o.mul(g.op('Min', [hi, g.op('Max', [lo, cls])]), mask);
  const sum = o.sumAxis(clipped, -1, true);
  const normalised = o.div(clipped, g.op('Max', [sum, g.constF(1e-30)]));
  const uniform = o.div(mask, o.maxS(count, 1));
  return g.op('Where', [g.op('Greater', [sum, g.constF(0)]), normalised, uniform]);
}

function mgca(o: OnnxOps, x: OnnxAlignInputs, cfg: Record<string, unknown>, d: Dims): OnnxExplanation {
  const importance = clipWordWeights(o, x.clsAttention, x.wordMask, d.maxWords, cfg.clipLow as number, cfg.clipHigh as number);
  const { attention, context } = pairedAttention(o, x, cfg.gamma1 as number);
  const e = o.l2norm(x.words);
  const v = o.l2norm(x.regions);
  const att = o.softmax(o.mulS(o.matmul(e, o.transpose(v, [0, 2, 1])), 1 / (cfg.localTau as number)));
  const ctx = o.l2norm(o.matmul(att, v));
  const localScore = o.sumAxis(o.mul(o.sumAxis(o.mul(e, ctx), -1, false), importance), -1, false);
  return {
    attention: zeroMaskedRows(o, attention, x.wordMask),
    relation: identityRelation(o, x.wordMask, d.maxWords),
    importance,
    localScore,
    context,
  };
}

function reclf(o: OnnxOps, x: OnnxAlignInputs, raw: Record<string, unknown>, d: Dims): OnnxExplanation {
  const cfg: ReclfConfig = toReclfConfig(raw);
  const pre = 'align.reclf.';
  const mask = x.wordMask;
  const n = d.maxWords;
  // [1, N, N] with zeros on the diagonal: a word left out of its own relation row.
  const notSelf = (): string => o.g.constF(Array.from({ length: n * n }, (_, k) => (Math.floor(k / n) === k % n ? 0 : 1)), [1, n, n]);
  const srmRound = (src: string, r: number, keyMask: string, offsets = 0): string => {
    let logits: string;
    if (cfg.relationLogits === 'cosine') {
      // srm.ts's learnedRelation with cosineGamma: gammaR * cos(X W_q, X W_k).
      const q = o.l2norm(o.matmul(src, o.p(`${pre}srm.${r}.w_q`)));
      const k = o.l2norm(o.matmul(src, o.p(`${pre}srm.${r}.w_k`)));
      logits = o.mulS(o.matmul(q, o.transpose(k, [0, 2, 1])), cfg.gammaR);
    } else {
      const w = o.matmul(o.p(`${pre}srm.${r}.w_q`), o.transpose(o.p(`${pre}srm.${r}.w_k`), [1, 0]));
      const dim = o.shape(`${pre}srm.${r}.w_q`)[0];
      logits = o.mulS(o.matmul(o.matmul(src, w), o.transpose(src, [0, 2, 1])), 1 / Math.sqrt(dim));
    }
    if (offsets > 0) {
      // srm.ts's offset bias: a one-hot of each pair's clipped offset times the round's weights.
      const width = 2 * offsets + 1;
      const bias = o.matmul(o.g.constF(Array.from(offsetOneHot(n, offsets)), [n * n, width]), o.reshape(o.p(`${pre}srm.${r}.offset_bias`), [width, 1]));
      logits = o.add(logits, o.reshape(bias, [1, n, n]));
    }
    if (cfg.srmLocality > 0) logits = o.add(logits, o.g.constF(Array.from(localityBias(n, cfg.srmLocality)), [1, n, n]));
    let relation = o.maskedSoftmax(logits, keyMask);
    if (cfg.relationBalance > 0) {
      // srm.ts's balanceRelation: columns, then rows, scaled to sum 1 over the allowed pairs.
      relation = o.mul(relation, o.mul(keyMask, o.unsqueeze(mask, [2])));
      for (let t = 0; t < cfg.relationBalance; t++) {
        relation = o.div(relation, o.maxS(o.sumAxis(relation, 1, true), BALANCE_EPS));
        relation = o.div(relation, o.maxS(o.sumAxis(relation, 2, true), BALANCE_EPS));
      }
    }
    return relation;
  };
  let e = x.words;
  let relation = '';
  let prior: string | undefined;
  if (cfg.srm && cfg.srmStage === 'spatial') {
    // reclf.ts's queryWords: one relation between the words, self left out, weighing attention.
    const others = o.mul(o.unsqueeze(mask, [1]), notSelf());
    relation = o.mul(srmRound(e, 0, others, cfg.srmOffsets), others);
    prior = relation;
  }
  if (cfg.srm && cfg.srmStage === 'query') {
    // reclf.ts's queryWords: SRM between the words of the report, self left out, before attention.
    const others = o.mul(o.unsqueeze(mask, [1]), notSelf());
    for (let r = 0; r < cfg.srmRounds; r++) {
      relation = o.mul(srmRound(e, r, others, cfg.srmOffsets), others);
      e = o.add(e, o.relu(o.matmul(o.matmul(relation, e), o.p(`${pre}srm.${r}.w_g`))));
    }
  }
  const { attention, context } = pairedAttention(o, { ...x, words: e }, cfg.gamma1, cfg.context, cfg.attention, prior);
  // reclf.ts's scoredWords: the reasoned queries attended; the words' own features may be what scores.
  if (cfg.scoreWords === 'own') e = x.words;
  const c = context;
  let m = '';
  if (needsMatchingVectors(cfg)) {
    const wm = o.p(`${pre}w_m`);
    m = cfg.matching === 'diff'
      ? o.l2norm(o.matmul(o.mul(o.sub(c, e), o.sub(c, e)), wm))
      : o.l2norm(o.matmul(o.g.op('Concat', [e, c, o.mul(e, c)], { axis: attr.i(-1) }), wm));
    if (cfg.srm && !srmOnWords(cfg)) {
      const keyMask = o.unsqueeze(mask, [1]);
      // srm.ts's attentionRelation: cosines of the attention maps, the word itself left out.
      const fixed = cfg.relation === 'attention'
        ? o.maskedSoftmax(o.mulS(o.matmul(o.l2norm(attention), o.transpose(o.l2norm(attention), [0, 2, 1])), cfg.gammaR), o.mul(keyMask, notSelf()))
        : '';
      for (let r = 0; r < cfg.srmRounds; r++) {
        relation = fixed || srmRound(cfg.relation === 'words' ? e : m, r, keyMask);
        m = o.add(m, o.relu(o.matmul(o.matmul(relation, m), o.p(`${pre}srm.${r}.w_g`))));
      }
    }
  }
  if (!relation) relation = identityRelation(o, mask, d.maxWords);

  let beta: string;
  let score: string;
  if (lsePooling(cfg)) {
    const sigma = m && hasWordScores(cfg) ? o.squeeze(o.matmul(m, o.p(`${pre}w_s`)), [2]) : o.rowCosine(e, c);
    let z = o.mulS(sigma, cfg.gamma2);
    let logNorm: string | undefined;
    if (cfg.irm === 'lse-prior') {
      const a = o.squeeze(o.linear(e, o.p(`${pre}irm.w_a`)), [2]);
      z = o.add(z, a);
      logNorm = o.maskedLogSumExp(a, mask);
    }
    beta = o.softmax(o.add(z, o.negMask(mask)));
    score = o.maskedLogSumExp(z, mask);
    if (logNorm) score = o.sub(score, logNorm);
  } else {
    if (uniformPooling(cfg)) {
      beta = o.uniformOverMask(mask);
    } else {
      const irmIn = cfg.irmInput === 'words' ? e : m;
      const logits = o.squeeze(o.linear(irmIn, o.p(`${pre}irm.w_a`), cfg.irm === 'sigmoid' ? o.p(`${pre}irm.b_a`) : undefined), [2]);
      if (cfg.irm === 'softmax') {
        beta = o.maskedSoftmax(logits, mask);
      } else {
        const gate = o.mul(o.g.op('Sigmoid', [logits]), mask);
        beta = o.div(gate, o.maxS(o.sumAxis(gate, -1, true), 1e-8));
      }
    }
    const b3 = o.unsqueeze(beta, [2]);
    if (cfg.score === 'linear') {
      const agg = o.l2norm(o.sumAxis(o.mul(m, b3), 1, false));
      score = o.squeeze(o.matmul(agg, o.p(`${pre}w_s`)), [1]);
    } else if (cfg.score === 'weighted') {
      score = o.sumAxis(o.mul(o.squeeze(o.matmul(m, o.p(`${pre}w_s`)), [2]), beta), -1, false);
    } else if (cfg.score === 'weighted-cosine') {
      score = o.sumAxis(o.mul(o.rowCosine(e, c), beta), -1, false);
    } else {
      score = o.rowCosine(o.sumAxis(o.mul(e, b3), 1, false), o.sumAxis(o.mul(c, b3), 1, false));
    }
    // irm 'beside': the score pooled uniformly; the importance shown is the one learned beside it.
    if (cfg.irm === 'beside') beta = o.maskedSoftmax(o.squeeze(o.linear(cfg.importanceFrom === 'own' ? x.words : e, o.p(`${pre}irm.w_a`)), [2]), mask);
  }
  return {
    attention: zeroMaskedRows(o, attention, mask),
    relation: zeroMaskedRows(o, relation, mask),
    importance: beta,
    localScore: score,
    context,
  };
}

/**
 * mlip.explain: a word linked to a knowledge-base entity (entity_ids >= 0) shows its entity's
 * attention over the patches and over the report's words; other words GLoRIA's attention and the
 * identity relation. entity_ids is a graph input only when the model has an entity table
 * (knowledge on); all -1 gives exactly the unlinked explanation.
 */
function mlip(o: OnnxOps, x: OnnxAlignInputs, raw: Record<string, unknown>, d: Dims): OnnxExplanation {
  const cfg = asMlipConfig(raw);
  const n = d.maxWords;
  const mask = x.wordMask;
  const plain = pairedAttention(o, x, cfg.gamma1).attention;
  let attention = plain;
  let relation = identityRelation(o, mask, n);
  const tableName = `${MLIP_PREFIX}.entity_embed`;
  const extraInputs: string[] = [];
  if (cfg.knowledge && o.has(tableName)) {
    const g = o.g;
    const ids = g.input(ENTITY_IDS_INPUT, DataType.INT64, ['batch', n]);
    extraInputs.push(ids);
    // slotEntityEmbeddings: row max(0, k); unlinked slots are masked out below.
    const entity = g.op('Gather', [o.p(tableName), g.op('Max', [ids, g.constI(0)])], { axis: attr.i(0) });
    const linked = o.unsqueeze(o.mul(o.castF(g.op('Greater', [ids, g.constI(-1)])), mask), [2]);
    // knowledgeAttention
    const q = o.l2norm(entity);
    const e = o.l2norm(x.words);
    const v = o.l2norm(x.regions);
    const tau = g.constF(cfg.localTau);
    const patch = o.softmax(o.div(o.matmul(q, o.transpose(v, [0, 2, 1])), tau));
    const word = o.maskedSoftmax(o.div(o.matmul(q, o.transpose(e, [0, 2, 1])), tau), o.unsqueeze(mask, [1]));
    const unlinked = o.sub(g.constF(1), linked);
    attention = o.add(o.mul(patch, linked), o.mul(plain, unlinked));
    relation = o.add(o.mul(word, linked), o.mul(relation, unlinked));
  }
  attention = zeroMaskedRows(o, attention, mask);
  relation = zeroMaskedRows(o, relation, mask);
  const received = o.mul(o.sumAxis(relation, 1, false), mask);
  const importance = o.div(received, o.maxS(o.sumAxis(received, -1, true), 1e-9));
  const context = o.matmul(attention, x.regions);
  return {
    attention, relation, importance,
    localScore: o.maskedMean(o.rowCosine(x.words, context), mask),
    context,
    ...(extraInputs.length ? { extraInputs } : {}),
  };
}

const EXPORTERS: Record<string, (o: OnnxOps, x: OnnxAlignInputs, cfg: Record<string, unknown>, d: Dims) => OnnxExplanation> = {
  convirt, gloria, mgca, reclf,
  // mlip and its ablations share one explain (an ablation only fixes a switch)
  ...Object.fromEntries(MLIP_VARIANTS.map((v) => [v, mlip])),
};

export const EXPORTABLE_METHODS: readonly string[] = Object.keys(EXPORTERS);

/** The explanation graph of method `name` with its (partial) run config. */
export function exportMethodExplain(o: OnnxOps, name: string, methodCfg: Record<string, unknown>, x: OnnxAlignInputs, maxWords: number): OnnxExplanation {
  const f = EXPORTERS[name];
  if (!f) throw new Error(`export: method '${name}' has no ONNX exporter (exportable: ${EXPORTABLE_METHODS.join(', ')})`);
  return f(o, x, resolveMethodConfig(name, methodCfg), { maxWords });
}

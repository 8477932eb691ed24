// RECLF (METHODS.md section 4, [design] reference realisation): per-word local-matching vectors,
// SRM relation reasoning between them, IRM importance pooling, a local score per image-report
// pair; 'cross' reading = local InfoNCE over every pair of the batch, 'within' reading = MGCA's
// token-level loss with IRM importances in place of MGCA's fixed word weights.
import * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '../models/params';
import type { AlignExplanation, AlignInputs, AlignMethod, HostWordData, MethodFactoryArgs, TextVariantPlan } from './types';
import { cosineMatrix, globalInfoNCE, maskedLogSumExp, stopGradient, symmetricInfoNCE, uniformOverMask } from './global-infonce';
import { crossAttention, identityRelation, localSubBatch, localSubBatchSize, pairedAttention, rowCosine, zeroMaskedRows } from './local-attention';
import { resolveMethodConfig } from './method-config';
import { hasWordScores, irmOnWords, lsePooling, needsMatchingVectors, srmOnWords, toReclfConfig, uniformPooling, type ReclfConfig } from './reclf-config';
import { attentionRelation, createRelationParams, createSrmParams, learnedRelation, srmReason, type RelationParams, type SrmRound, type SrmSource } from './srm';
import { createIrmParams, irmImportance, type IrmMode, type IrmParams } from './irm';
import { mgcaTokenLoss } from './mgca';
import { l2norm, linear } from '../models/ops';
import { defaultKnowledgeBase } from '../knowledge/kb';
import { mixSeed, Rng } from '../rng';
import { textSwapPlan, withinReportSwapPlan, type SwapKind, type SwapPlan } from './text-swap';
import { selectRows } from './select';

export interface ReclfParams {
  wm?: tf.Tensor2D;
  srm?: SrmRound[];
  /** srmStage 'spatial': the relation between the report's words (no feature update). */
  spatial?: RelationParams;
  irm?: IrmParams;
  ws?: tf.Tensor2D;
  /** log of a multiplier of 1/localTau, learned when learnTemperature (starts at 0). */
  logScale?: tf.Tensor;
}

export function createReclfParams(params: ParamStore, dim: number, cfg: ReclfConfig, prefix = 'align.reclf.'): ReclfParams {
  const p: ReclfParams = {};
  const d = cfg.mDim;
  if (cfg.srm && cfg.srmStage === 'query') p.srm = createSrmParams(params, prefix, dim, cfg.srmRounds, 'words', dim, cfg.srmOffsets);
  if (cfg.srm && cfg.srmStage === 'spatial') p.spatial = createRelationParams(params, prefix, 0, 'words', dim, cfg.srmOffsets);
  if (needsMatchingVectors(cfg)) {
    const inDim = cfg.matching === 'concat' ? 3 * dim : dim;
    p.wm = params.param(`${prefix}w_m`, [inDim, d], { kind: 'xavier', fanIn: inDim, fanOut: d }) as tf.Tensor2D;
    if (cfg.srm && !srmOnWords(cfg)) p.srm = createSrmParams(params, prefix, d, cfg.srmRounds, cfg.relation, cfg.relation === 'words' ? dim : d);
  }
  if (cfg.irm === 'softmax' || cfg.irm === 'sigmoid' || cfg.irm === 'lse-prior' || cfg.irm === 'beside') {
    p.irm = createIrmParams(params, prefix, irmOnWords(cfg) ? dim : d, cfg.irm === 'sigmoid' ? 'sigmoid' : 'softmax');
  }
  if (hasWordScores(cfg)) p.ws = params.param(`${prefix}w_s`, [d, 1], { kind: 'xavier', fanIn: d, fanOut: 1 }) as tf.Tensor2D;
  if (cfg.learnTemperature) p.logScale = params.param(`${prefix}log_inv_tau`, [], { kind: 'zeros' });
  return p;
}

/**
 * Local-matching vectors m_i = l2norm(W_m (c_i - e_i)^2), or l2norm(W_m [e_i; c_i; e_i * c_i]).
 * e broadcasts against c (e [1, Bt, N, D] for every image of c [Bi, Bt, N, D]).
 */
export function localMatching(e: tf.Tensor, c: tf.Tensor, wm: tf.Tensor2D, mode: 'diff' | 'concat'): tf.Tensor {
  if (mode === 'diff') return l2norm(linear(tf.square(tf.sub(c, e)), wm));
  const eb = tf.broadcastTo(e, c.shape);
  return l2norm(linear(tf.concat([eb, c, tf.mul(eb, c)], -1), wm));
}

export interface ReclfScores {
  /** Local score s of each (image, report) pair [Bi, Bt]. */
  score: tf.Tensor2D;
  /** Per-word importance [Bi, Bt, N]. */
  importance: tf.Tensor3D;
  /** Word -> word relation of the last SRM round [Bi, Bt, N, N] (identity without SRM). */
  relation: tf.Tensor4D;
  /**
   * irm 'beside': sum_i beta_i cos(e_i, c_i) of each pair [Bi, Bt] with the cosines stopped, the
   * score importance learns from (only w_a gets its gradient).
   */
  importanceScore?: tf.Tensor2D;
}

/**
 * Scores words e [1 or Bi, Bt, N, D] (report t) against their attended contexts c [Bi, Bt, N, D]
 * (report t's words over image i's regions). All Bi*Bt pairs go through SRM/IRM as one batch
 * P = Bi*Bt of [N, d] matrices: a handful of large batched matmuls, never a loop over pairs.
 */
export function reclfScores(
  e: tf.Tensor4D, c: tf.Tensor4D, wordMask: tf.Tensor2D, cfg: ReclfConfig, p: ReclfParams, attention?: tf.Tensor4D, queryRelation?: tf.Tensor3D, ownWords?: tf.Tensor4D,
): ReclfScores {
  const [bi, bt, n, dim] = c.shape;
  const pairs = bi * bt;
  const mask = tf.tile(wordMask, [bi, 1]) as tf.Tensor2D; // [P, N], image-major like the pairs
  // The word features of every pair [P, N, D] (e is shared by the images of a column).
  const wordsOfPairs = (x: tf.Tensor4D = e): tf.Tensor3D => tf.broadcastTo(x, [bi, bt, n, dim]).reshape([pairs, n, dim]) as tf.Tensor3D;
  let m: tf.Tensor3D | null = null;
  let relation: tf.Tensor3D;
  if (p.wm) {
    m = localMatching(e, c, p.wm, cfg.matching).reshape([pairs, n, cfg.mDim]) as tf.Tensor3D;
    if (p.srm && !srmOnWords(cfg)) {
      const cosineGamma = relationGamma(cfg);
      const balance = cfg.relationBalance;
      let source: SrmSource = { kind: 'matching', cosineGamma, balance };
      if (cfg.relation === 'words') source = { kind: 'words', x: wordsOfPairs(), cosineGamma, balance };
      if (cfg.relation === 'attention') {
        if (!attention) throw new Error("reclfScores: relation 'attention' needs the attention maps");
        source = { kind: 'attention', x: attentionRelation(attention.reshape([pairs, n, attention.shape[3]]) as tf.Tensor3D, mask, cfg.gammaR) };
      }
      const reasoned = srmReason(m, mask, p.srm, source);
      m = reasoned.m;
      relation = reasoned.relation;
    } else {
      relation = identityRelation(mask);
    }
  } else {
    relation = identityRelation(mask);
  }

  let beta: tf.Tensor2D;
  let score: tf.Tensor;
  let importanceScore: tf.Tensor | undefined;
  if (lsePooling(cfg)) {
    // GLoRIA pooling: Z = log sum_i exp(gamma2 * sigma_i) with per-word scores sigma_i.
    const sigma = m && p.ws ? linear(m, p.ws).reshape([pairs, n]) : rowCosine(e, c).reshape([pairs, n]);
    let z = tf.mul(sigma, cfg.gamma2);
    let logNorm: tf.Tensor | null = null;
    if (cfg.irm === 'lse-prior') {
      // log pi_i = a_i - log sum_k exp(a_k): the prior's normaliser leaves every report's score on one scale.
      const a = linear(wordsOfPairs(), (p.irm as IrmParams).wa).reshape([pairs, n]);
      z = tf.add(z, a);
      logNorm = maskedLogSumExp(a, mask);
    }
    beta = tf.softmax(tf.add(z, tf.mul(tf.sub(1, mask), -1e9))) as tf.Tensor2D;
    score = maskedLogSumExp(z, mask);
    if (logNorm) score = tf.sub(score, logNorm);
  } else {
    const pooled = uniformPooling(cfg) ? uniformOverMask(mask) : irmImportance(irmOnWords(cfg) ? wordsOfPairs() : m as tf.Tensor3D, mask, cfg.irm as IrmMode, p.irm as IrmParams);
    score = poolScore(pooled);
    beta = pooled;
    if (cfg.irm === 'beside') {
      // Shown as importance, never pooled: it sees the words and their cosines stopped. With
      // importanceFrom 'own', each word's own feature (before SRM) rather than the query it attended with.
      if (cfg.importanceFrom === 'own' && !ownWords) throw new Error("reclfScores: importanceFrom 'own' needs the words' own features");
      const x = cfg.importanceFrom === 'own' ? ownWords as tf.Tensor4D : e;
      beta = irmImportance(stopGradient(wordsOfPairs(x)), mask, 'softmax', p.irm as IrmParams);
      importanceScore = tf.sum(tf.mul(stopGradient(rowCosine(x, c).reshape([pairs, n])), beta), 1);
    }
  }
  return {
    score: score.reshape([bi, bt]) as tf.Tensor2D,
    importance: beta.reshape([bi, bt, n]) as tf.Tensor3D,
    relation: (queryRelation ? tf.broadcastTo(queryRelation, [bi, bt, n, n]) : relation.reshape([bi, bt, n, n])) as tf.Tensor4D,
    ...(importanceScore ? { importanceScore: importanceScore.reshape([bi, bt]) as tf.Tensor2D } : {}),
  };

  /** The pair's score from its words pooled with weights beta [P, N]. */
  function poolScore(beta: tf.Tensor2D): tf.Tensor {
    if (cfg.score === 'linear') {
      const agg = l2norm(tf.sum(tf.mul(m as tf.Tensor3D, beta.reshape([pairs, n, 1])), 1));
      return linear(agg, p.ws as tf.Tensor2D).reshape([pairs]);
    }
    if (cfg.score === 'weighted') return tf.sum(tf.mul(linear(m as tf.Tensor3D, p.ws as tf.Tensor2D).reshape([pairs, n]), beta), 1);
    if (cfg.score === 'weighted-cosine') return tf.sum(tf.mul(rowCosine(e, c).reshape([pairs, n]), beta), 1);
    const b4 = beta.reshape([bi, bt, n, 1]);
    return rowCosine(tf.sum(tf.mul(e, b4), 2), tf.sum(tf.mul(c, b4), 2));
  }
}

/**
 * The words that attend and score: the word features as they are, or, with srmStage 'query',
 * after SRM's rounds between the words of each report (relation [B, N, N], self left out).
 * With srmStage 'spatial' the words stay as they are and `prior` is the relation that weighs
 * each word's attention by its related words' (self left out).
 */
export function queryWords(words: tf.Tensor3D, wordMask: tf.Tensor2D, cfg: ReclfConfig, p: ReclfParams): { words: tf.Tensor3D; relation?: tf.Tensor3D; prior?: tf.Tensor3D } {
  if (p.spatial) {
    const relation = learnedRelation(words, wordMask, p.spatial, true, relationGamma(cfg), cfg.relationBalance, cfg.srmLocality);
    return { words, relation, prior: relation };
  }
  if (cfg.srmStage !== 'query' || !p.srm) return { words };
  const r = srmReason(words, wordMask, p.srm, { kind: 'matching', othersOnly: true, cosineGamma: relationGamma(cfg), balance: cfg.relationBalance, locality: cfg.srmLocality });
  return { words: r.m, relation: r.relation };
}

/** The words compared with their attended contexts: the queries that attended, or the words' own features (scoreWords). */
function scoredWords(words: tf.Tensor3D, queries: tf.Tensor3D, cfg: ReclfConfig): tf.Tensor3D {
  return cfg.scoreWords === 'own' ? words : queries;
}

/** The cosine relation's sharpness, or undefined for the scaled dot product. */
function relationGamma(cfg: ReclfConfig): number | undefined {
  return cfg.relationLogits === 'cosine' ? cfg.gammaR : undefined;
}

/** Scores of every image (rows) against every report (columns) of the batch. */
export function reclfCross(inputs: Pick<AlignInputs, 'words' | 'regions' | 'wordMask'>, cfg: ReclfConfig, p: ReclfParams): ReclfScores {
  const [bt, n, d] = inputs.words.shape;
  const q = queryWords(inputs.words, inputs.wordMask, cfg, p);
  const { attention, context } = crossAttention(q.words, inputs.regions, inputs.wordMask, cfg.gamma1, cfg.context, cfg.attention, q.prior);
  return reclfScores(scoredWords(inputs.words, q.words, cfg).reshape([1, bt, n, d]), context as tf.Tensor4D, inputs.wordMask, cfg, p, attention as tf.Tensor4D, q.relation, inputs.words.reshape([1, bt, n, d]) as tf.Tensor4D);
}

/** Attention and scores for matched pairs only (image b with report b). */
export function reclfPaired(inputs: Pick<AlignInputs, 'words' | 'regions' | 'wordMask'>, cfg: ReclfConfig, p: ReclfParams) {
  const [b, n, d] = inputs.words.shape;
  const q = queryWords(inputs.words, inputs.wordMask, cfg, p);
  const { attention, context } = pairedAttention(q.words, inputs.regions, inputs.wordMask, cfg.gamma1, cfg.context, cfg.attention, q.prior);
  const s = reclfScores(scoredWords(inputs.words, q.words, cfg).reshape([1, b, n, d]), context.reshape([1, b, n, d]) as tf.Tensor4D, inputs.wordMask, cfg, p, attention.reshape([1, b, n, -1]) as tf.Tensor4D, q.relation, inputs.words.reshape([1, b, n, d]) as tf.Tensor4D);
  return {
    attention: attention as tf.Tensor3D,
    score: s.score.reshape([b]) as tf.Tensor1D,
    importance: s.importance.reshape([b, n]) as tf.Tensor2D,
    relation: s.relation.reshape([b, n, n]) as tf.Tensor3D,
  };
}

/**
 * Location-swap loss of a (sub-)batch whose cross scores are `score` [B, B]: for each report the
 * plan swaps (textSwapPlan, withinReportSwapPlan), -log of the softmax of its true pair against
 * the same image with the swapped report, at the local InfoNCE's scale. The swapped reports'
 * words are the plan's selection of the batch's word features (swapAt 'features') or, given as
 * `reencoded`, the swapped reports encoded from their tokens (swapAt 'tokens', in plan order).
 * Null when the plan swaps no report.
 */
export function locationSwapLoss(
  inputs: Pick<AlignInputs, 'words' | 'regions' | 'wordMask'>, score: tf.Tensor2D, scale: tf.Tensor, plan: TextVariantPlan, cfg: ReclfConfig, p: ReclfParams,
  reencoded?: { words: tf.Tensor3D; wordMask: tf.Tensor2D },
): tf.Scalar | null {
  const [b, n, d] = inputs.words.shape;
  if (!plan.reports.length) return null;
  const pick = <T extends tf.Tensor>(x: T): T => selectRows(x, plan.reports);
  const words = reencoded?.words ?? pick(selectRows(inputs.words.reshape([b * n, d]) as tf.Tensor2D, plan.source).reshape([b, n, d]) as tf.Tensor3D);
  const wordMask = reencoded?.wordMask ?? pick(inputs.wordMask);
  const negative = reclfPaired({ words, regions: pick(inputs.regions), wordMask }, cfg, p).score;
  const positive = pick(tf.sum(tf.mul(score, tf.eye(b)), 1, true)).reshape([plan.reports.length]);
  // -log(e^{s+} / (e^{s+} + e^{s-})) = softplus(s- - s+), both at the local InfoNCE's scale.
  return tf.mean(tf.softplus(tf.mul(tf.sub(negative, positive), scale))) as tf.Scalar;
}

export function createReclf(args: MethodFactoryArgs): AlignMethod {
  const cfg = toReclfConfig(resolveMethodConfig('reclf', args.config));
  const p = createReclfParams(args.params, args.dim, cfg);
  const localScale = (): tf.Tensor => {
    const base = tf.scalar(1 / cfg.localTau);
    // Clamped at 100 as CLIP clamps its logit scale, so a learned temperature cannot blow up.
    return p.logScale ? tf.minimum(tf.mul(base, tf.exp(p.logScale)), 100) : base;
  };
  const kb = cfg.locationSwap !== 'off' ? defaultKnowledgeBase() : undefined;
  const locationOnly = (row: number): SwapKind | null => (kb?.entities[row]?.kind === 'location' ? 'location' : null);
  // Within a report, location words are permuted within their knowledge-base category (sides with sides, zones with zones).
  const locationCategory = (row: number): string | null => (kb?.entities[row]?.kind === 'location' ? kb.entities[row].category : null);
  const swapPlan = (ids: Int32Array, negated: Uint8Array | undefined, mask: Float32Array, b: number, n: number, step: number): SwapPlan =>
    cfg.locationSwap === 'within-report'
      ? withinReportSwapPlan(ids, negated, mask, b, n, locationCategory)
      : textSwapPlan(ids, negated, mask, b, n, locationOnly, new Rng(mixSeed(0x5a4, step)));
  return {
    name: 'reclf',
    needsEntities: cfg.locationSwap !== 'off',
    ...(cfg.locationSwap !== 'off' && cfg.swapAt === 'tokens' ? {
      planTextVariants(host: HostWordData): TextVariantPlan | null {
        if (!host.entityIds || cfg.reading !== 'cross') return null;
        // Plans within the local loss's sub-batch: a swapped report is a negative of its own image's local score.
        const sb = localSubBatchSize(host.b, cfg.localBatch), n = host.n;
        const plan = swapPlan(host.entityIds.subarray(0, sb * n), host.entityNegated?.subarray(0, sb * n), host.wordMask.subarray(0, sb * n), sb, n, host.step);
        return plan.reports.length ? plan : null;
      },
    } : {}),
    loss(inputs: AlignInputs, ctx: { training: boolean; step: number }) {
      const global = tf.mul(globalInfoNCE(inputs.imageGlobal, inputs.textGlobal, cfg.tau), cfg.globalWeight) as tf.Scalar;
      const terms: Record<string, tf.Scalar> = { global };
      let local: tf.Scalar;
      let swap: tf.Scalar | undefined;
      if (cfg.reading === 'cross') {
        const sub = localSubBatch(inputs, cfg.localBatch);
        const { score, importanceScore } = reclfCross(sub, cfg, p);
        const scale = localScale();
        local = symmetricInfoNCE(tf.mul(score, scale) as tf.Tensor2D);
        // irm 'beside': importance's own InfoNCE; its only gradient is w_a's.
        if (importanceScore) terms.importance = symmetricInfoNCE(tf.mul(importanceScore, stopGradient(scale)) as tf.Tensor2D);
        // Entity ids come with training batches only (the trainer links words for needsEntities).
        if (cfg.swapAt === 'tokens') {
          // The trainer encoded the planned variants with the batch (training batches only).
          const v = inputs.textVariants;
          if (v) swap = tf.mul(locationSwapLoss(sub, score, scale, v.plan, cfg, p, v) ?? tf.scalar(0), cfg.swapWeight) as tf.Scalar;
        } else if (cfg.locationSwap !== 'off' && inputs.entityIds && inputs.wordMaskValues) {
          const [sb, sn] = sub.words.shape;
          const plan = swapPlan(inputs.entityIds.subarray(0, sb * sn), inputs.entityNegated?.subarray(0, sb * sn), inputs.wordMaskValues.subarray(0, sb * sn), sb, sn, ctx.step);
          const l = locationSwapLoss(sub, score, scale, plan, cfg, p);
          swap = tf.mul(l ?? tf.scalar(0), cfg.swapWeight) as tf.Scalar;
        }
      } else {
        const { importance } = reclfPaired(inputs, cfg, p);
        const { word, patch } = mgcaTokenLoss(inputs, importance, cfg.localTau);
        local = tf.add(word, patch) as tf.Scalar;
      }
      terms.local = tf.mul(local, cfg.localWeight) as tf.Scalar;
      if (swap) terms.swap = swap;
      return { loss: tf.addN(Object.values(terms)) as tf.Scalar, terms };
    },
    explain(inputs: AlignInputs): AlignExplanation {
      return tf.tidy(() => {
        const r = reclfPaired(inputs, cfg, p);
        return {
          attention: zeroMaskedRows(r.attention, inputs.wordMask),
          relation: zeroMaskedRows(r.relation, inputs.wordMask),
          importance: r.importance,
          localScore: r.score,
        };
      });
    },
    similarity(inputs: AlignInputs) {
      return tf.tidy(() => ({
        global: cosineMatrix(inputs.imageGlobal, inputs.textGlobal),
        local: reclfCross(inputs, cfg, p).score,
      }));
    },
  };
}

// MLIP (Li et al., CVPR 2024) as an alignment method [design, METHODS.md section 5]: global
// InfoNCE plus four switchable, separately weighted terms, each in its own module:
//   divergence  extra positive image view from a stochastic / momentum branch (divergence.ts)
//   knowledge   token-knowledge-patch: entity embeddings attend over patches and words (token-knowledge-patch.ts)
//   category    knowledge-guided category prototypes, Sinkhorn, swapped prediction (category-contrast.ts)
//   itm         image-text matching with hard and text-swap negatives (itm.ts, text-swap.ts)
// Parameters live under "align.mlip." for mlip and its ablations alike (they are the same model
// with a term switched off). The explanation shows, for a word linked to the knowledge base, its
// entity's attention over the patches and over the report's words; other words get GLoRIA's.
import * as tf from '@tensorflow/tfjs-core';
import type { AlignExplanation, AlignInputs, AlignMethod, MethodFactoryArgs } from '../types';
import { cosineMatrix, globalInfoNCE, maskedMean } from '../global-infonce';
import { identityRelation, pairedAttention, rowCosine, zeroMaskedRows } from '../local-attention';
import { resolveMethodConfig } from '../method-config';
import { bmm } from '../../models/ops';
import { Rng, mixSeed } from '../../rng';
import { defaultKnowledgeBase } from '../../knowledge/kb';
import { asMlipConfig } from './config';
import { emaUpdate, residualProject, stochasticView } from './divergence';
import { knowledgeAttention, selectLinkedTokens, slotEntityEmbeddings, tokenKnowledgeLoss } from './token-knowledge-patch';
import { categoryLoss, categoryMeansOnDevice, findingCategories, knowledgeTargets } from './category-contrast';
import { createItmHead, itmLogits, itmLoss, pairFeatures, sampleNegativesOnDevice } from './itm';
import { textSwapPlan, type SwapKind } from '../text-swap';
import { selectRows } from '../select';

export const MLIP_PREFIX = 'align.mlip';

export function createMlip(args: MethodFactoryArgs, variant = 'mlip'): AlignMethod {
  const cfg = asMlipConfig(resolveMethodConfig(variant, args.config));
  const { params, dim } = args;
  const kb = defaultKnowledgeBase();
  const P = MLIP_PREFIX;

  const divProj = cfg.divergence !== 'off' ? (params.param(`${P}.div_proj`, [dim, dim], { kind: 'uniform', limit: 0.01 }) as tf.Variable<tf.Rank.R2>) : undefined;
  let divEma: tf.Variable<tf.Rank.R2> | undefined;
  if (cfg.divergence === 'ema' && divProj) {
    const fresh = !params.has(`${P}.div_proj_ema`);
    divEma = params.param(`${P}.div_proj_ema`, [dim, dim], { kind: 'zeros' }, false) as tf.Variable<tf.Rank.R2>;
    if (fresh) divEma.assign(divProj);
  }

  const entityTable = cfg.knowledge ? (params.param(`${P}.entity_embed`, [kb.size, dim], { kind: 'uniform', limit: 1 / Math.sqrt(dim) }) as tf.Variable<tf.Rank.R2>) : undefined;

  const categories = findingCategories(kb);
  let prototypes: tf.Variable<tf.Rank.R2> | undefined;
  if (cfg.category) {
    const fresh = !params.has(`${P}.category_prototypes`);
    prototypes = params.param(`${P}.category_prototypes`, [categories.ids.length, dim], { kind: 'uniform', limit: 1 / Math.sqrt(dim) }) as tf.Variable<tf.Rank.R2>;
    if (fresh && entityTable) {
      const table = entityTable;
      tf.tidy(() => prototypes!.assign(categoryMeansOnDevice(table, categories.ofEntity, categories.ids.length)));
    }
  }

  const itmHead = cfg.itm ? createItmHead(params, P, dim) : undefined;
  const kindOf = (row: number): SwapKind | null => {
    const kind = kb.entities[row]?.kind;
    return kind === 'finding' || kind === 'location' ? kind : null;
  };

  return {
    name: variant,
    needsEntities: cfg.knowledge || cfg.category || (cfg.itm && cfg.textSwap),
    loss(inputs: AlignInputs, ctx: { training: boolean; step: number }) {
      const [b, n] = inputs.wordMask.shape;
      const terms: Record<string, tf.Scalar> = {};
      terms.global = tf.mul(globalInfoNCE(inputs.imageGlobal, inputs.textGlobal, cfg.tau), cfg.globalWeight) as tf.Scalar;

      if (divProj && cfg.divWeight > 0) {
        const online = stochasticView(inputs.imageGlobal, divProj, cfg.divDropout, ctx.step, ctx.training);
        let l = globalInfoNCE(online, inputs.textGlobal, cfg.tau);
        // The momentum view is non-trainable (no gradient reaches divEma; the encoder still learns from it).
        if (divEma) l = tf.div(tf.add(l, globalInfoNCE(residualProject(inputs.imageGlobal, divEma), inputs.textGlobal, cfg.tau)), 2) as tf.Scalar;
        terms.divergence = tf.mul(l, cfg.divWeight) as tf.Scalar;
      }

      const ids = inputs.entityIds;
      const negated = inputs.entityNegated;
      if (ids && !inputs.wordMaskValues) throw new Error('mlip: AlignInputs.wordMaskValues is required with entityIds (the encoder fills it)');
      const mask = ids ? inputs.wordMaskValues : undefined;

      if (entityTable && ids && mask && cfg.knowledgeWeight > 0) {
        const tokens = selectLinkedTokens(ids, negated, mask);
        const att = tokens.slots.length >= 2
          ? knowledgeAttention(slotEntityEmbeddings(entityTable, ids, b, n), inputs.words, inputs.regions, inputs.wordMask, cfg.localTau)
          : undefined;
        const l = att ? tokenKnowledgeLoss(att, tokens, cfg.localTau) : null;
        terms.knowledge = l ? (tf.mul(l, cfg.knowledgeWeight) as tf.Scalar) : tf.scalar(0);
      }

      if (prototypes && cfg.categoryWeight > 0) {
        const knowledge = ids && mask ? knowledgeTargets(ids, negated, mask, b, n, categories.ofEntity, categories.ids.length) : undefined;
        const l = categoryLoss(inputs.imageGlobal, inputs.textGlobal, prototypes, {
          eps: cfg.sinkhornEps, iters: cfg.sinkhornIters, temp: cfg.protoTemp, prior: cfg.categoryPrior, knowledge,
        });
        terms.category = tf.mul(l, cfg.categoryWeight) as tf.Scalar;
      }

      if (itmHead && cfg.itmWeight > 0 && b >= 2) {
        const rng = new Rng(mixSeed(0x171, ctx.step));
        // The draws are made on the device (no read-back inside the tape) from host uniforms
        // taken in the same order as sampleNegatives, so the rng state after them is the same.
        const u = tf.tensor1d(Array.from({ length: 2 * b }, () => rng.next()));
        const negs = sampleNegativesOnDevice(cfg.hardNegatives ? inputs.imageGlobal : null, cfg.hardNegatives ? inputs.textGlobal : null, b, cfg.tau, u);
        const all = tf.range(0, b, 1, 'int32');
        const imageIdx = tf.concat([all, all, negs.imageForText]) as tf.Tensor1D;
        const textIdx = tf.concat([all, negs.textForImage, all]) as tf.Tensor1D;
        const feats = [pairFeatures(inputs, imageIdx, textIdx, cfg.gamma1)];
        if (cfg.textSwap && ids && mask) {
          const plan = textSwapPlan(ids, negated, mask, b, n, kindOf, rng);
          if (plan.reports.length) {
            const d = inputs.words.shape[2];
            const swapped = selectRows(inputs.words.reshape([b * n, d]) as tf.Tensor2D, plan.source).reshape([b, n, d]) as tf.Tensor3D;
            feats.push(pairFeatures({ ...inputs, words: swapped }, plan.reports, plan.reports, cfg.gamma1));
          }
        }
        const logits = itmLogits(itmHead, feats.length > 1 ? (tf.concat(feats, 0) as tf.Tensor2D) : feats[0]);
        const total = logits.shape[0];
        const l = itmLoss(logits.slice(0, b) as tf.Tensor1D, logits.slice(b, total - b) as tf.Tensor1D);
        terms.itm = tf.mul(l, cfg.itmWeight) as tf.Scalar;
      }

      return { loss: tf.addN(Object.values(terms)) as tf.Scalar, terms };
    },
    explain(inputs: AlignInputs): AlignExplanation {
      return tf.tidy(() => {
        const [b, n] = inputs.wordMask.shape;
        const plain = pairedAttention(inputs.words, inputs.regions, inputs.wordMask, cfg.gamma1).attention as tf.Tensor3D;
        let attention = plain;
        let relation = identityRelation(inputs.wordMask);
        const ids = inputs.entityIds;
        if (entityTable && ids) {
          // Negated mentions are shown too: where the model looks for "pneumothorax" in "no pneumothorax".
          const hasEntity = tf.tensor2d(Array.from(ids, (k) => (k >= 0 ? 1 : 0)), [b, n]);
          const linked = tf.mul(hasEntity, tf.cast(tf.greater(inputs.wordMask, 0), 'float32')).reshape([b, n, 1]);
          const att = knowledgeAttention(slotEntityEmbeddings(entityTable, ids, b, n), inputs.words, inputs.regions, inputs.wordMask, cfg.localTau);
          const unlinked = tf.sub(1, linked);
          attention = tf.add(tf.mul(att.patchAttention, linked), tf.mul(plain, unlinked)) as tf.Tensor3D;
          relation = tf.add(tf.mul(att.wordAttention, linked), tf.mul(relation, unlinked)) as tf.Tensor3D;
        }
        attention = zeroMaskedRows(attention, inputs.wordMask);
        relation = zeroMaskedRows(relation, inputs.wordMask);
        // A word's importance is the attention it receives from the report's words and entities.
        const received = tf.mul(tf.sum(relation, 1), inputs.wordMask);
        const importance = tf.div(received, tf.maximum(tf.sum(received, -1, true), 1e-9)) as tf.Tensor2D;
        const context = bmm(attention, inputs.regions);
        const localScore = maskedMean(rowCosine(inputs.words, context), inputs.wordMask) as tf.Tensor1D;
        return { attention, relation, importance, localScore };
      });
    },
    similarity(inputs: AlignInputs) {
      return { global: tf.tidy(() => cosineMatrix(inputs.imageGlobal, inputs.textGlobal)) };
    },
    afterStep() {
      if (divEma && divProj) emaUpdate(divEma, divProj, cfg.emaMomentum);
    },
  };
}

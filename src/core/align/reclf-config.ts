// RECLF's hyper-parameters (METHODS.md section 4), the resolved config's type, what each setting
// implies for the model (shared by the training graph and the ONNX export), and the checks
// between fields, so a combination that would leave a part untrained fails before training.
import { ConfigError } from '../errors';
import { pos, weight, type MethodConfigSpec } from './config-fields';
import type { ContextMode, AttentionKind } from './local-attention';
import type { RelationSource } from './srm';

// CPU defaults, measured on the wasm backend at B=32, N=48, M=64, D=128 (`reclf bench train`):
// the cross reading's cost is dominated by elementwise work on the [pairs, N, D] tensors, so
// the local loss is taken over a sub-batch of 16 pairs (256 image-report pairs instead of 1024)
// and the matching vectors are 32-d; the global loss still sees the whole batch.
export const RECLF_SPEC: MethodConfigSpec = {
  reading: { kind: 'enum', default: 'cross', values: ['cross', 'within'], doc: 'cross-sample local InfoNCE or within-sample token loss' },
  matching: { kind: 'enum', default: 'diff', values: ['diff', 'concat'], doc: "local-matching vector: W_m (c-e)^2 or W_m [e; c; e*c]" },
  mDim: { kind: 'int', default: 32, min: 1, max: 4096, doc: 'dimension of the local-matching vectors' },
  localBatch: { kind: 'int', default: 16, min: 0, max: 1000000, doc: "cross reading: local InfoNCE over the first localBatch pairs of each batch (0 = all); the global loss always uses the whole batch" },
  srm: { kind: 'bool', default: true, doc: 'semantic-relation reasoning (false: identity relation)' },
  srmRounds: { kind: 'int', default: 2, min: 1, max: 16, doc: 'graph-attention rounds K' },
  relation: {
    kind: 'enum',
    default: 'matching',
    values: ['matching', 'words', 'attention'],
    doc: "SRM relation from learned query/key projections of the local-matching vectors or of the word features, or from the overlap of two words' attention maps",
  },
  srmStage: {
    kind: 'enum',
    default: 'matching',
    values: ['matching', 'query', 'spatial'],
    doc: "where SRM reasons: between the local-matching vectors after attention, between the report's word features before it (each word's attention query and score then carry its related words; the word itself is left out of its relation row), or between the words' attention maps ('spatial': a relation learned from the word features, one round, multiplies each word's attention by its related words' attention)",
  },
  srmOffsets: {
    kind: 'int', default: 0, min: 0, max: 64,
    doc: "srmStage 'query' or 'spatial': a learned relation-logit bias per word offset within +-srmOffsets (farther words share the edge's), so SRM can learn how near a related word sits; 0 = none",
  },
  srmLocality: {
    kind: 'number', default: 0, min: 0, max: 100,
    doc: "srmStage 'query' or 'spatial': a fixed relation-logit bias of -srmLocality * |i - j| between words i and j (ALiBi's linear distance bias), so a word relates to the words near it unless their content outweighs the distance; 0 = none",
  },
  relationLogits: {
    kind: 'enum',
    default: 'scaled-dot',
    values: ['scaled-dot', 'cosine'],
    doc: "a learned relation's logits: (X W_q)(X W_k)^T / sqrt(d), or gammaR * cos(X W_q, X W_k) (bounded whatever the features' norm)",
  },
  relationBalance: {
    kind: 'int', default: 0, min: 0, max: 50,
    doc: "Sinkhorn rounds that balance a learned SRM relation's columns against its rows (0 = row softmax only): no word can be every word's relation",
  },
  scoreWords: {
    kind: 'enum',
    default: 'reasoned',
    values: ['reasoned', 'own'],
    doc: "srmStage 'query': each word's score (and matching vector) compares its attended context with the SRM-reasoned word it attended with ('reasoned') or with the word's own feature ('own': SRM decides only where a word looks)",
  },
  gammaR: pos(10, "relation 'attention' or relationLogits 'cosine': softmax sharpness over cosines"),
  irmInput: { kind: 'enum', default: 'matching', values: ['matching', 'words'], doc: 'IRM importance from the local-matching vectors or from the word features' },
  irm: {
    kind: 'enum',
    default: 'softmax',
    values: ['softmax', 'sigmoid', 'uniform', 'lse', 'lse-prior', 'beside'],
    aliases: { true: 'softmax', false: 'uniform' },
    doc: "importance: masked softmax, sigmoid + L1, uniform (irm off), GLoRIA LogSumExp pooling, LogSumExp under a prior learned from the word features, or 'beside': the score pools uniformly and importance, a softmax of w_a^T e_i, is learned beside it from the stopped per-word cosines",
  },
  importanceFrom: {
    kind: 'enum',
    default: 'scored',
    values: ['scored', 'own'],
    doc: "irm 'beside': importance learns from the words as scored (SRM-reasoned with srmStage 'query') or from each word's own feature and its cosine with what it attended ('own': a word cannot borrow another's content)",
  },
  score: {
    kind: 'enum',
    default: 'auto',
    values: ['auto', 'linear', 'cosine', 'weighted', 'weighted-cosine'],
    doc: "local score: w_s^T m_agg, or cos(sum beta e, sum beta c), or sum_i beta_i w_s^T m_i, or sum_i beta_i cos(e_i, c_i) (IRM weighs per-word scores); auto = linear for 'cross', cosine for 'within'",
  },
  tau: pos(0.1, 'global InfoNCE temperature'),
  localTau: pos(0.1, 'local InfoNCE / token-loss temperature (initial value when learned)'),
  learnTemperature: { kind: 'bool', default: false, doc: 'learn the local temperature (align.reclf.log_inv_tau)' },
  gamma1: pos(4, 'attention sharpness over regions'),
  attention: {
    kind: 'enum',
    default: 'gloria',
    values: ['gloria', 'cosine'],
    doc: "word->region attention: GLoRIA's (softmax over words, then over regions of gamma1 times that) or softmax over regions of gamma1 * cos(e_i, v_j)",
  },
  gamma2: pos(5, 'LogSumExp pooling sharpness (irm: lse)'),
  context: {
    kind: 'enum',
    default: 'attended',
    values: ['attended', 'centered'],
    doc: "attended context: the regions as they are (GLoRIA), or each image's regions minus their mean (uniform attention then carries no image information)",
  },
  globalWeight: weight('weight of the global loss'),
  localWeight: weight('weight of the local loss'),
  locationSwap: {
    kind: 'enum',
    default: 'off',
    values: ['off', 'other-report', 'within-report'],
    aliases: { true: 'other-report', false: 'off' },
    doc: "cross reading: each image also scores its report with the location words replaced by another report's (other-report, MLIP's text swap) or permuted among the report's own findings (within-report), and the local loss must prefer the true report",
  },
  swapWeight: weight('weight of the location-swap loss'),
  swapAt: {
    kind: 'enum',
    default: 'features',
    values: ['features', 'tokens'],
    doc: "locationSwap: the swapped report reads the other words' features as they are, positions included ('features'), or is re-encoded from its swapped tokens, so each word keeps its place in the report ('tokens')",
  },
};

export interface ReclfConfig {
  reading: 'cross' | 'within';
  matching: 'diff' | 'concat';
  mDim: number;
  /** Cross reading: local loss over the first localBatch pairs (0 = all). */
  localBatch: number;
  srm: boolean;
  srmRounds: number;
  relation: RelationSource;
  /**
   * 'cosine': the scaled dot product grows with the squared norm of unnormalised word features,
   * and cosine attention leaves that norm free, so relation rows saturated to one-hot on
   * arbitrary words ("effusions" -> "abdomen" 1.00, srmStage 'spatial', step 400) where no
   * gradient reaches W_q, W_k; cosine logits stay within +-gammaR. [design]
   */
  relationLogits: 'scaled-dot' | 'cosine';
  /**
   * Sinkhorn rounds after the relation's row softmax (balanceRelation). With rows alone, most rows
   * of a report pick the same one or two words whatever the row's word (the grounding preset's
   * hub share 0.60 over three seeds); balanced, a word can only be about one row's worth of
   * relation. Measured with 3 rounds: hub share 0.22, but the rows did not bind to their
   * location words either (README, design study). [design]
   */
  relationBalance: number;
  gammaR: number;
  /**
   * 'query': SRM reasons between the report's word features before attention, so a finding
   * word's query carries its location word into where it looks and how it scores; the relation
   * is then worth learning only if it makes attention pick the right region. 'spatial': the
   * relation, learned from the word features, carries where related words look: word i's
   * attention becomes a_i * (sum_k E_ik a_k), normalised. Location words localise by position
   * while finding words' own maps stay diffuse (measured on positions-cosine-lse), and the query
   * stage's mixing erased the location words' own localisation; here a finding word borrows its
   * location word's map without changing either word's features. [design]
   */
  srmStage: 'matching' | 'query' | 'spatial';
  /**
   * Query stage: a bias per word offset on the relation logits. The embedding-level words know
   * their absolute position only, from which a bilinear query/key hardly learns "the location
   * word next to me"; a per-offset bias learns it directly (as relative position biases do in
   * transformers). [design]
   */
  srmOffsets: number;
  /**
   * Query or spatial stage: a fixed bias of -srmLocality * |i - j| on the relation logits (ALiBi,
   * Press et al. 2022). Trained without it, the per-offset bias stays within +-0.4 logits after
   * 1,000 steps against the cosine logits' +-gammaR, and the rows relate a finding word to other
   * findings' location words, or to hub words, rather than to its own: among embedding-level words
   * without their position rows, nothing but distance tells whose location a location word is. [design]
   */
  srmLocality: number;
  /**
   * Query stage, what a word's score compares with its attended context. 'reasoned': the query it
   * attended with, its related words mixed in, so a function word that mixed in a finding scores
   * as that finding. 'own': the word's own feature, so the relation pays only where it moves the
   * word's attention onto a region the word itself matches. Measured on two seeds (README, design
   * study) it grounded less, left relations and importance at chance and steepened importance's
   * slope over word positions; the reason importance stayed at chance was the position rows
   * (model.text.localPositions). [design]
   */
  scoreWords: 'reasoned' | 'own';
  /**
   * 'lse-prior': GLoRIA's pooling under a learned prior over the words, from the word features
   * alone: s = log sum_i pi_i exp(gamma2 sigma_i), pi = softmax(w_a^T e_i). The per-word cosine
   * and the attention stay as in 'lse': the prior weighs words without moving attention. (Measured
   * on the synthetic benchmark it concentrated on a few words, "the" among them, and grounding
   * stayed at its floor: README, design study.) [design]
   *
   * 'beside': the local score pools its words uniformly (as irm 'uniform') and importance is
   * learned beside it, never feeding it: beta = softmax(w_a^T e_i) over the report's words, trained
   * by its own InfoNCE over s_beta = sum_i beta_i cos(e_i, c_i) with the cosines and the word
   * features stopped. So beta learns which words' matchings tell the pairs apart, while attention
   * and the encoders get the plain mean's gradient (the trainer's global-norm clipping sees w_a's
   * gradient too, so training is not step for step irm 'uniform's). (Uniform pooling grounded at least as well as
   * LogSumExp in the preset's ablation, and LogSumExp's weights were the only importance.) [design]
   */
  irm: 'softmax' | 'sigmoid' | 'uniform' | 'lse' | 'lse-prior' | 'beside';
  irmInput: 'matching' | 'words';
  /**
   * irm 'beside': what importance reads and learns from. 'scored': the words as the score sees them
   * (with srmStage 'query' the SRM-reasoned queries, into which a function word may mix a finding's
   * content, and then tell pairs apart as well as the finding). 'own': each word's own feature
   * and its cosine with the context its query attended. [design]
   */
  importanceFrom: 'scored' | 'own';
  /**
   * 'weighted': s = sum_i beta_i w_s^T m_i. Each word scores the pair on its own and IRM weighs
   * the scores, so weight on a word whose matching is the same for every report (a function
   * word matched against one image) buys the loss nothing; under 'linear' the normalised
   * aggregate can use such words as a reference direction. 'weighted-cosine': s = sum_i
   * beta_i cos(e_i, c_i), the per-word score in the same geometry as cosine attention, so the
   * region a word attends to is the one that raises its score. [design]
   */
  score: 'linear' | 'cosine' | 'weighted' | 'weighted-cosine';
  tau: number;
  localTau: number;
  learnTemperature: boolean;
  gamma1: number;
  gamma2: number;
  context: ContextMode;
  attention: AttentionKind;
  globalWeight: number;
  localWeight: number;
  /**
   * A hard negative per image: its own report with the location words taken from another report
   * ("left upper nodule" -> "right lower nodule"). Among random reports location rarely separates
   * a pair; against a swapped one only where the finding is does, and with srmStage 'query' only
   * a finding word that reads its location word can tell. 'within-report' permutes the report's
   * own location words of one kind among its findings ("right effusion, left nodule" -> "left
   * effusion, right nodule"): any location word of the report no longer separates the pair, only
   * the finding's own does. Training only. [design]
   */
  locationSwap: 'off' | 'other-report' | 'within-report';
  swapWeight: number;
  /**
   * 'features' swaps the word features themselves. Embedding-level (and deeper) word features
   * carry their position, so where each permuted location is one word, a report whose location
   * words are permuted among its findings is a permutation of the same features, and every RECLF
   * score without srmOffsets is invariant under it: the negative scores exactly as the true
   * report and its loss is the constant ln 2 (test/core/align/reclf.test.ts; where the mentions
   * differ in length the swap duplicates a word instead). 'tokens' re-encodes the swapped report from
   * its tokens (the text encoder runs once over the batch and the swapped reports together), so
   * "left" takes the place of "right" and only which finding reads which location word tells the
   * two apart. [design]
   */
  swapAt: 'features' | 'tokens';
}

export function toReclfConfig(resolved: Record<string, unknown>): ReclfConfig {
  return resolved as unknown as ReclfConfig;
}

/** Whether anything reads the local-matching vectors m_i (a cosine score with fixed pooling does not). */
export function needsMatchingVectors(cfg: ReclfConfig): boolean {
  return hasWordScores(cfg) || ((cfg.irm === 'softmax' || cfg.irm === 'sigmoid') && cfg.irmInput !== 'words');
}

/** Whether SRM's relation is learned between the report's words before attention ('query' and 'spatial' stages). */
export function srmOnWords(cfg: Pick<ReclfConfig, 'srmStage'>): boolean {
  return cfg.srmStage === 'query' || cfg.srmStage === 'spatial';
}

/** Whether the score reads w_s^T m (of the aggregate or of each word). */
export function hasWordScores(cfg: ReclfConfig): boolean {
  return cfg.score === 'linear' || cfg.score === 'weighted';
}

/** Whether IRM reads the word features rather than the local-matching vectors. */
export function irmOnWords(cfg: ReclfConfig): boolean {
  return ((cfg.irm === 'softmax' || cfg.irm === 'sigmoid') && cfg.irmInput === 'words') || cfg.irm === 'lse-prior' || cfg.irm === 'beside';
}

/** Whether the local score pools its words with equal weights (IRM off, or learned beside the score). */
export function uniformPooling(cfg: Pick<ReclfConfig, 'irm'>): boolean {
  return cfg.irm === 'uniform' || cfg.irm === 'beside';
}

/** Whether the score pools per-word scores by LogSumExp (GLoRIA), with or without a learned prior. */
export function lsePooling(cfg: ReclfConfig): boolean {
  return cfg.irm === 'lse' || cfg.irm === 'lse-prior';
}

/** Cross-field checks of a resolved RECLF config (mutates 'auto' score into its reading's default). */
export function crossCheckReclf(cfg: Record<string, unknown>, path: string): void {
  const r = toReclfConfig(cfg);
  if (cfg.score === 'auto') cfg.score = cfg.reading === 'within' ? 'cosine' : 'linear';
  // In the within-sample reading no loss term sees w_s, so a linear score would stay at its init.
  if (cfg.reading === 'within' && (cfg.score === 'linear' || cfg.score === 'weighted' || cfg.score === 'weighted-cosine')) {
    throw new ConfigError(`${path}.score: '${cfg.score}' needs reading 'cross' (the within-sample token loss never reads the pair's score); use 'cosine'`, `${path}.score`);
  }
  if (cfg.reading === 'within' && cfg.locationSwap !== 'off') {
    throw new ConfigError(`${path}.locationSwap: the swapped report is a negative of the 'cross' reading's local score; the 'within' reading has none`, `${path}.locationSwap`);
  }
  if (cfg.swapAt === 'tokens' && cfg.locationSwap === 'off') {
    throw new ConfigError(`${path}.swapAt: 'tokens' says how the location-swap negative is encoded, but locationSwap is 'off'`, `${path}.swapAt`);
  }
  if (cfg.reading === 'within' && cfg.irm === 'beside') {
    throw new ConfigError(`${path}.irm: 'beside' learns importance from the 'cross' reading's pairs; the 'within' reading weighs its token loss by importance, so it would feed the loss`, `${path}.irm`);
  }
  if (cfg.importanceFrom === 'own' && cfg.irm !== 'beside') {
    throw new ConfigError(`${path}.importanceFrom: 'own' says what importance learned beside the score reads; it needs irm 'beside'`, `${path}.importanceFrom`);
  }
  if (cfg.reading === 'within' && cfg.learnTemperature === true) {
    throw new ConfigError(`${path}.learnTemperature: only the 'cross' reading has a local InfoNCE temperature to learn`, `${path}.learnTemperature`);
  }
  if (cfg.relationLogits === 'cosine' && (cfg.srm !== true || (!srmOnWords(r) && cfg.relation === 'attention'))) {
    throw new ConfigError(`${path}.relationLogits: 'cosine' is for a learned SRM relation (srm true, relation 'matching' or 'words')`, `${path}.relationLogits`);
  }
  if ((cfg.relationBalance as number) > 0 && (cfg.srm !== true || (!srmOnWords(r) && cfg.relation === 'attention'))) {
    throw new ConfigError(`${path}.relationBalance: balancing is for a learned SRM relation (srm true, relation 'matching' or 'words')`, `${path}.relationBalance`);
  }
  if (cfg.scoreWords === 'own' && !(cfg.srm === true && cfg.srmStage === 'query')) {
    throw new ConfigError(`${path}.scoreWords: 'own' tells the word's own feature from its SRM-reasoned query, which only srmStage 'query' (with srm true) makes`, `${path}.scoreWords`);
  }
  if (!srmOnWords(r) && (cfg.srmLocality as number) > 0) {
    throw new ConfigError(`${path}.srmLocality: the distance bias is for srmStage 'query' or 'spatial' (SRM's relation between the report's words)`, `${path}.srmLocality`);
  }
  if (!srmOnWords(r) && (cfg.srmOffsets as number) > 0) {
    throw new ConfigError(`${path}.srmOffsets: the per-offset bias is for srmStage 'query' or 'spatial' (SRM's relation between the report's words)`, `${path}.srmOffsets`);
  }
  if (srmOnWords(r)) {
    if (cfg.srm !== true) throw new ConfigError(`${path}.srmStage: '${cfg.srmStage}' is SRM's placement, but srm is false`, `${path}.srmStage`);
    if (cfg.relation === 'attention') {
      throw new ConfigError(`${path}.relation: srmStage '${cfg.srmStage}' learns its relation from the word features; 'attention' is for srmStage 'matching'`, `${path}.relation`);
    }
  } else if (cfg.srm === true && !needsMatchingVectors(r)) {
    // With a cosine score and no importance learned from them, nothing reads the local-matching vectors.
    const why = uniformPooling(r) || lsePooling(r) ? `irm is '${cfg.irm}'` : "IRM reads the word features (irmInput 'words')";
    throw new ConfigError(`${path}.srm: SRM output is unused when ${why} and score is '${cfg.score}'; set srm: false`, `${path}.srm`);
  }
}

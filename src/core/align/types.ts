// The one interface every alignment method (convirt, gloria, mgca, reclf, mlip) implements, so
// that training, evaluation, export and the UI need no method-specific code.
import type * as tf from '@tensorflow/tfjs-core';
import type { ParamStore } from '../models/params';

/**
 * What the dual encoder hands to a method for a batch of B image-report pairs.
 * Words are whole words (WordPiece pieces already summed); word slots beyond a report's
 * length, and [CLS]/[SEP], are excluded by wordMask.
 */
export interface AlignInputs {
  /** Projected, NOT yet normalised region features [B, M, D]. */
  regions: tf.Tensor3D;
  /** Projected image embedding [B, D]. */
  imageGlobal: tf.Tensor2D;
  /** Projected word features [B, N, D]. */
  words: tf.Tensor3D;
  /** 1 for a real word, 0 for padding/special [B, N]. */
  wordMask: tf.Tensor2D;
  /**
   * wordMask's values on the host [B*N], when the caller built the mask from host data (the
   * encoder does): methods that plan with host data (MLIP's token selection and text swaps) read
   * this instead of the tensor, since GPU backends cannot read back inside the gradient tape.
   */
  wordMaskValues?: Float32Array;
  /** Projected report embedding [B, D]. */
  textGlobal: tf.Tensor2D;
  /** Last-layer [CLS] attention summed per word [B, N] (MGCA's fixed word weights); optional. */
  clsAttention?: tf.Tensor2D;
  /**
   * Knowledge-base entity row (KnowledgeBase.indexOf) of each word slot [B*N], -1 for none.
   * Filled by the batch builder only for methods with `needsEntities` (MLIP); host data, no gradient.
   */
  entityIds?: Int32Array;
  /** 1 where the word's entity mention is negated ("no pneumothorax") [B*N]; with entityIds. */
  entityNegated?: Uint8Array;
  /**
   * Re-encoded variants of some reports (the plan of AlignMethod.planTextVariants), in the same
   * forward pass as the batch: their projected word features [S, N, D] and mask [S, N].
   * Training batches only.
   */
  textVariants?: { plan: TextVariantPlan; words: tf.Tensor3D; wordMask: tf.Tensor2D };
}

/**
 * Reports a method wants re-encoded with some words replaced: word slot k of variant report
 * `reports[s]` reads the tokens of flat word slot source[k] (k, source[k] over [B*N]), every other
 * slot its own. Host data.
 */
export interface TextVariantPlan {
  /** Flat word slot each slot reads its tokens from [B*N] (identity where nothing changes). */
  source: Int32Array;
  /** The batch rows re-encoded, in the order of textVariants' rows. */
  reports: number[];
}

/** The host-side word data of a training batch a method plans its text variants from. */
export interface HostWordData {
  b: number;
  n: number;
  entityIds?: Int32Array;
  entityNegated?: Uint8Array;
  /** 1 for a real word slot [B*N]. */
  wordMask: Float32Array;
  step: number;
}

/** Per-pair explanation tensors; every method fills all four (identity/uniform when it has none). */
export interface AlignExplanation {
  /** Word -> region attention [B, N, M] (rows sum to 1 over regions for real words). */
  attention: tf.Tensor3D;
  /** Word -> word relation [B, N, N] (SRM; identity for methods without relations). */
  relation: tf.Tensor3D;
  /** Word importance [B, N] (IRM; uniform over real words for methods without it). */
  importance: tf.Tensor2D;
  /** Local (word-region) matching score of each matched pair [B]. */
  localScore: tf.Tensor1D;
}

export interface AlignOutput {
  loss: tf.Scalar;
  /** Named loss terms (already weighted) that sum to loss, for logging. */
  terms: Record<string, tf.Scalar>;
}

export interface AlignMethod {
  readonly name: string;
  /** Training loss over the batch (in-batch negatives). Must be called inside a gradient scope. */
  loss(inputs: AlignInputs, ctx: { training: boolean; step: number }): AlignOutput;
  /** Explanation tensors for each matched pair (image i with report i). */
  explain(inputs: AlignInputs): AlignExplanation;
  /**
   * Similarity of every image with every report [B_img, B_txt] for retrieval/zero-shot:
   * global cosine, and the method's local score when it has one.
   */
  similarity(inputs: AlignInputs): { global: tf.Tensor2D; local?: tf.Tensor2D };
  /** True when the method reads AlignInputs.entityIds: the trainer then links report words to the knowledge base. */
  readonly needsEntities?: boolean;
  /**
   * Training only: the reports to re-encode with some words' tokens replaced (null: none this
   * step). The trainer encodes them with the batch and passes them as AlignInputs.textVariants.
   */
  planTextVariants?(host: HostWordData): TextVariantPlan | null;
  /**
   * Called by the trainer after each optimizer step (outside any gradient scope), for state that
   * is not trained by gradients: MLIP's momentum (EMA) divergence projection.
   */
  afterStep?(): void;
}

export interface MethodFactoryArgs {
  params: ParamStore;
  /** Embedding dimension D of AlignInputs. */
  dim: number;
  config: Record<string, unknown>;
}

export type MethodFactory = (args: MethodFactoryArgs) => AlignMethod;

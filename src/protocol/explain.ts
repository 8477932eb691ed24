// Explanation payload: engine -> extension -> webview. The only definition of this shape.
// Arrays are typed arrays; when the payload crosses a JSON boundary (engine stdout, `--json`)
// they are base64 strings of little-endian float32 (see encodeExplanation / decodeExplanation).

export interface ExplainWord {
  text: string;
  /** Char offsets [start, end) into `report`. */
  start: number;
  end: number;
}

export interface ExplainModelInfo {
  /** Display name (run folder name, ONNX file name, or "bundled"). */
  name: string;
  method: string;
  source: 'bundled' | 'run' | 'onnx';
  path?: string;
}

/** Whether the explained image is like the model's training images (models exported with `--data`). */
export interface ImageDistributionCheck {
  /** What the model was trained on. */
  source: string;
  /** Mahalanobis distance of the image's pixel statistics (layout and texture) from the training images' (about 1 for theirs). */
  distance: number;
  /** The farthest held-out training image's distance, with a margin. */
  threshold: number;
  /** Above the threshold: the explanation of this image is not to be trusted. */
  outside: boolean;
}

/** The one line shown above an explanation of an image unlike the model's training images. */
export function distributionNote(check: ImageDistributionCheck | undefined): string | undefined {
  if (!check?.outside) return undefined;
  return `This image is unlike the images this model was trained on (${check.source}; pixel-statistics distance ${check.distance.toFixed(2)}, threshold ${check.threshold.toFixed(2)}): its heatmaps, relations and importances are not meaningful here.`;
}

export interface ExplanationPayload {
  model: ExplainModelInfo;
  /** The image as the model saw it (resized and padded), PNG bytes, plus where it came from. */
  image: { png: Uint8Array; width: number; height: number; sourcePath?: string };
  /** Region grid [rows, cols]; M = rows * cols. Region r covers row floor(r / cols), col r % cols. */
  grid: [number, number];
  report: string;
  /** Path of the report file when it came from one. */
  reportPath?: string;
  words: ExplainWord[];
  /** Word -> region attention, row-major [N * M]. */
  attention: Float32Array;
  /** Word -> word SRM relation, row-major [N * N]. */
  relation: Float32Array;
  /** IRM importance per word [N]. */
  importance: Float32Array;
  /** Local-matching score per word [N]: cosine of the word with its attended image context. */
  wordScore: Float32Array;
  scores: { global: number; local: number };
  distribution?: ImageDistributionCheck;
}

type Json<T> = { [K in keyof T]: T[K] extends Float32Array | Uint8Array ? string : T[K] extends object ? Json<T[K]> : T[K] };

export type ExplanationPayloadJson = Omit<Json<ExplanationPayload>, 'words' | 'grid'> & { words: ExplainWord[]; grid: [number, number] };

function b64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

function f32(s: string): Float32Array {
  const buf = Buffer.from(s, 'base64');
  const copy = new Uint8Array(buf.length);
  copy.set(buf);
  return new Float32Array(copy.buffer, 0, copy.length / 4);
}

export function encodeExplanation(p: ExplanationPayload): ExplanationPayloadJson {
  return {
    ...p,
    image: { ...p.image, png: b64(p.image.png) },
    attention: b64(new Uint8Array(p.attention.buffer, p.attention.byteOffset, p.attention.byteLength)),
    relation: b64(new Uint8Array(p.relation.buffer, p.relation.byteOffset, p.relation.byteLength)),
    importance: b64(new Uint8Array(p.importance.buffer, p.importance.byteOffset, p.importance.byteLength)),
    wordScore: b64(new Uint8Array(p.wordScore.buffer, p.wordScore.byteOffset, p.wordScore.byteLength)),
  };
}

/**
 * The explanation for people and scripts (`reclf explain --json`): plain JSON arrays, one row
 * per word (attention [N][M], relation [N][N]); the image stays base64 PNG. The base64 typed
 * arrays of encodeExplanation are the engine-extension protocol only.
 */
export interface PlainExplanation extends Omit<ExplanationPayload, 'image' | 'attention' | 'relation' | 'importance' | 'wordScore'> {
  image: { png_base64: string; width: number; height: number; sourcePath?: string };
  attention: number[][];
  relation: number[][];
  importance: number[];
  wordScore: number[];
}

export function plainExplanation(p: ExplanationPayload): PlainExplanation {
  const N = p.words.length;
  const M = p.grid[0] * p.grid[1];
  const rows = (a: Float32Array, width: number): number[][] => Array.from({ length: N }, (_, i) => Array.from(a.subarray(i * width, (i + 1) * width)));
  const { png, ...image } = p.image;
  return {
    ...p,
    image: { ...image, png_base64: b64(png) },
    attention: rows(p.attention, M),
    relation: rows(p.relation, N),
    importance: Array.from(p.importance),
    wordScore: Array.from(p.wordScore),
  };
}

export function decodeExplanation(j: ExplanationPayloadJson): ExplanationPayload {
  const png = Buffer.from(j.image.png, 'base64');
  return {
    ...j,
    image: { ...j.image, png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength) },
    attention: f32(j.attention),
    relation: f32(j.relation),
    importance: f32(j.importance),
    wordScore: f32(j.wordScore),
  };
}

/** Checks the shape invariants (N words, M regions) that every consumer relies on. */
export function validateExplanation(p: ExplanationPayload): string[] {
  const errors: string[] = [];
  const N = p.words.length;
  const M = p.grid[0] * p.grid[1];
  if (p.attention.length !== N * M) errors.push(`attention has ${p.attention.length} values, expected N*M = ${N}*${M}`);
  if (p.relation.length !== N * N) errors.push(`relation has ${p.relation.length} values, expected N*N = ${N * N}`);
  if (p.importance.length !== N) errors.push(`importance has ${p.importance.length} values, expected N = ${N}`);
  if (p.wordScore.length !== N) errors.push(`wordScore has ${p.wordScore.length} values, expected N = ${N}`);
  p.words.forEach((w, i) => {
    if (!(w.start >= 0 && w.end > w.start && w.end <= p.report.length)) errors.push(`words[${i}] offsets [${w.start}, ${w.end}) outside the report`);
  });
  return errors;
}

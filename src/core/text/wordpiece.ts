// BERT WordPiece tokenizer (greedy longest-match-first with "##" continuations), compatible with
// Hugging Face BertTokenizer(Fast) for vocab.txt and tokenizer.json files, with character offsets
// of every piece and word in the original text.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { ConfigError, DataError } from '../errors';
import { basicTokenize, type BasicToken, type WordSpan } from './basic-tokenizer';
import { headingSpans } from '../data/report-text';

export interface SpecialTokens {
  cls: string;
  sep: string;
  pad: string;
  unk: string;
  mask: string;
}

export const BERT_SPECIAL_TOKENS: Readonly<SpecialTokens> = { cls: '[CLS]', sep: '[SEP]', pad: '[PAD]', unk: '[UNK]', mask: '[MASK]' };

export interface WordPieceOptions {
  /** do_lower_case (default true). */
  lowerCase?: boolean;
  /** Defaults to lowerCase. */
  stripAccents?: boolean;
  tokenizeChineseChars?: boolean;
  /** Longer words (in code points) become [UNK] (default 100). */
  maxInputCharsPerWord?: number;
  continuingSubwordPrefix?: string;
  specialTokens?: Partial<SpecialTokens>;
}

export interface EncodeOptions {
  /** Total length including [CLS] and [SEP]; longer inputs are truncated. No limit when absent. */
  maxLength?: number;
  /** Pad with [PAD] up to maxLength. */
  padToMaxLength?: boolean;
}

export interface Encoding {
  inputIds: number[];
  attentionMask: number[];
  tokens: string[];
  /** [start, end) in the original text per position; [0, 0] for [CLS], [SEP] and [PAD]. */
  offsets: [number, number][];
  /** Per position: index into words; -1 for [CLS], [SEP] and [PAD]. */
  wordIds: number[];
  /** Words that kept at least one piece after truncation. */
  words: WordSpan[];
}

export class WordPieceTokenizer {
  readonly vocabSize: number;
  /** sha256 of the vocabulary as vocab.txt text (tokens by id, one per line, "\n"-terminated). */
  readonly vocabHash: string;
  readonly lowerCase: boolean;
  readonly stripAccents: boolean;
  readonly specialTokens: Readonly<SpecialTokens>;
  readonly clsId: number;
  readonly sepId: number;
  readonly padId: number;
  readonly unkId: number;
  readonly maskId: number;
  private readonly vocab: Map<string, number>;
  private readonly idToTok: string[];
  private readonly tokenizeChinese: boolean;
  private readonly maxChars: number;
  private readonly prefix: string;

  private constructor(tokens: string[], opts: WordPieceOptions, source: string) {
    if (tokens.length === 0) throw new DataError(`${source}: the vocabulary is empty`, source);
    this.idToTok = tokens.slice();
    this.vocab = new Map();
    // Later duplicates win, as in HF's load_vocab (a dict filled line by line).
    tokens.forEach((t, i) => this.vocab.set(t, i));
    this.vocabSize = tokens.length;
    this.vocabHash = createHash('sha256').update(tokens.join('\n') + '\n', 'utf8').digest('hex');
    this.lowerCase = opts.lowerCase ?? true;
    this.stripAccents = opts.stripAccents ?? this.lowerCase;
    this.tokenizeChinese = opts.tokenizeChineseChars ?? true;
    this.maxChars = opts.maxInputCharsPerWord ?? 100;
    this.prefix = opts.continuingSubwordPrefix ?? '##';
    this.specialTokens = { ...BERT_SPECIAL_TOKENS, ...opts.specialTokens };
    const idOf = (role: keyof SpecialTokens): number => {
      const tok = this.specialTokens[role];
      const id = this.vocab.get(tok);
      if (id === undefined) throw new DataError(`${source}: special token ${tok} (${role}) is missing from the vocabulary`, source, role);
      return id;
    };
    this.clsId = idOf('cls');
    this.sepId = idOf('sep');
    this.padId = idOf('pad');
    this.unkId = idOf('unk');
    this.maskId = idOf('mask');
  }

  /** Reads a BERT vocab.txt (one token per line, id = line number). */
  static fromVocabFile(file: string, opts: WordPieceOptions = {}): WordPieceTokenizer {
    return new WordPieceTokenizer(parseVocabText(readText(file), file), opts, file);
  }

  /** Reads a Hugging Face fast-tokenizer tokenizer.json with a WordPiece model. */
  static fromTokenizerJson(file: string): WordPieceTokenizer {
    let json: unknown;
    try {
      json = JSON.parse(readText(file));
    } catch (e) {
      if (e instanceof DataError) throw e;
      throw new DataError(`${file}: not valid JSON (${(e as Error).message})`, file);
    }
    const { tokens, opts } = parseTokenizerJson(json, file);
    return new WordPieceTokenizer(tokens, opts, file);
  }

  /** `source` names where the tokens came from in errors (a file, a model's metadata). */
  static fromTokens(tokens: string[], opts: WordPieceOptions = {}, source = '(vocabulary)'): WordPieceTokenizer {
    return new WordPieceTokenizer(tokens, opts, source);
  }

  /** The id of a token, or the [UNK] id when the vocabulary lacks it. */
  tokenId(tok: string): number {
    return this.vocab.get(tok) ?? this.unkId;
  }

  hasToken(tok: string): boolean {
    return this.vocab.has(tok);
  }

  idToToken(id: number): string | undefined {
    return this.idToTok[id];
  }

  /** The vocabulary as vocab.txt text. */
  vocabText(): string {
    return this.idToTok.join('\n') + '\n';
  }

  /** BERT basic tokens of a text with this tokenizer's normalisation (special tokens kept whole). */
  basicTokens(text: string): BasicToken[] {
    return basicTokenize(text, {
      lowerCase: this.lowerCase,
      stripAccents: this.stripAccents,
      tokenizeChineseChars: this.tokenizeChinese,
      neverSplit: this.neverSplit(),
    });
  }

  /** WordPiece pieces of one basic token, as [piece, startCharIndex, endCharIndex) in token.chars. */
  wordPieces(token: BasicToken): { piece: string; from: number; to: number }[] {
    const chars = token.chars.map((c) => c.ch);
    if (token.special) return [{ piece: token.norm, from: 0, to: chars.length }];
    if (chars.length > this.maxChars) return [{ piece: this.specialTokens.unk, from: 0, to: chars.length }];
    const out: { piece: string; from: number; to: number }[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | undefined;
      while (start < end) {
        const sub = (start > 0 ? this.prefix : '') + chars.slice(start, end).join('');
        if (this.vocab.has(sub)) { found = sub; break; }
        end--;
      }
      if (found === undefined) return [{ piece: this.specialTokens.unk, from: 0, to: chars.length }];
      out.push({ piece: found, from: start, to: end });
      start = end;
    }
    return out;
  }

  /** The WordPiece token strings of a text, without [CLS]/[SEP] (HF tokenizer.tokenize). */
  tokenize(text: string): string[] {
    return this.basicTokens(text).flatMap((t) => this.wordPieces(t).map((p) => p.piece));
  }

  encode(text: string, opts: EncodeOptions = {}): Encoding {
    const maxLength = opts.maxLength;
    if (maxLength !== undefined && !(Number.isInteger(maxLength) && maxLength >= 2)) {
      throw new ConfigError(`maxLength must be an integer >= 2 (room for [CLS] and [SEP]), got ${maxLength}`, 'maxLength');
    }
    if (opts.padToMaxLength && maxLength === undefined) {
      throw new ConfigError('padToMaxLength needs maxLength', 'maxLength');
    }
    const budget = maxLength === undefined ? Infinity : maxLength - 2;
    const enc: Encoding = { inputIds: [], attentionMask: [], tokens: [], offsets: [], wordIds: [], words: [] };
    const push = (tok: string, id: number, offset: [number, number], wordId: number, attend: number): void => {
      enc.tokens.push(tok);
      enc.inputIds.push(id);
      enc.offsets.push(offset);
      enc.wordIds.push(wordId);
      enc.attentionMask.push(attend);
    };
    push(this.specialTokens.cls, this.clsId, [0, 0], -1, 1);
    let used = 0;
    const headings = headingSpans(text);
    outer: for (const token of this.basicTokens(text)) {
      const pieces = this.wordPieces(token);
      const word = isExplainedWord(token, headings);
      for (let k = 0; k < pieces.length; k++) {
        if (used >= budget) break outer;
        if (k === 0 && word) enc.words.push({ text: token.text, start: token.start, end: token.end });
        const p = pieces[k];
        const start = token.chars[p.from].start;
        let end = token.chars[p.from].end;
        for (let c = p.from; c < p.to; c++) end = Math.max(end, token.chars[c].end);
        push(p.piece, this.tokenId(p.piece), [start, end], word ? enc.words.length - 1 : -1, 1);
        used++;
      }
    }
    push(this.specialTokens.sep, this.sepId, [0, 0], -1, 1);
    if (opts.padToMaxLength && maxLength !== undefined) padTo(enc, maxLength, this.specialTokens.pad, this.padId);
    return enc;
  }

  /**
   * Encodes several texts to equal length (tensor-ready): padded to maxLength when
   * padToMaxLength is set, otherwise to the longest encoding of the batch.
   */
  encodeBatch(texts: string[], opts: EncodeOptions = {}): Encoding[] {
    const encs = texts.map((t) => this.encode(t, opts));
    const longest = Math.max(0, ...encs.map((e) => e.inputIds.length));
    for (const e of encs) padTo(e, longest, this.specialTokens.pad, this.padId);
    return encs;
  }

  private neverSplit(): string[] {
    const s = this.specialTokens;
    return [s.cls, s.sep, s.pad, s.unk, s.mask];
  }
}

/**
 * Whether a token is a word the model matches and explains. Punctuation and section headings
 * ("FINDINGS:") stay in the text the encoder reads, but get no word slot: no attention, relation
 * row or importance in training, and none to show in an explanation.
 */
function isExplainedWord(token: BasicToken, headings: readonly [number, number][]): boolean {
  if (token.special) return true;
  if (!/[\p{L}\p{N}]/u.test(token.text)) return false;
  return !headings.some(([s, e]) => token.start >= s && token.end <= e);
}

function padTo(enc: Encoding, length: number, padToken: string, padId: number): void {
  while (enc.inputIds.length < length) {
    enc.tokens.push(padToken);
    enc.inputIds.push(padId);
    enc.offsets.push([0, 0]);
    enc.wordIds.push(-1);
    enc.attentionMask.push(0);
  }
}

/**
 * What a model needs to sum pieces into words: index[t] = word slot of position t (-1 for
 * specials, padding and words beyond maxWords); mask[w] = 1 for a real word slot;
 * assign = [maxWords, T] row-major one-hot (assign[w*T + t] = 1 when piece t belongs to word w),
 * so word features = assign @ piece features.
 */
export function wordsToPieceMatrix(enc: Encoding, maxWords: number): { index: Int32Array; mask: Float32Array; assign: Float32Array; numWords: number } {
  if (!(Number.isInteger(maxWords) && maxWords > 0)) throw new ConfigError(`maxWords must be a positive integer, got ${maxWords}`, 'maxWords');
  const T = enc.wordIds.length;
  const index = new Int32Array(T);
  const mask = new Float32Array(maxWords);
  const assign = new Float32Array(maxWords * T);
  const numWords = Math.min(enc.words.length, maxWords);
  for (let t = 0; t < T; t++) {
    const w = enc.wordIds[t];
    const slot = w >= 0 && w < maxWords && enc.attentionMask[t] === 1 ? w : -1;
    index[t] = slot;
    if (slot >= 0) assign[slot * T + t] = 1;
  }
  mask.fill(1, 0, numWords);
  return { index, mask, assign, numWords };
}

/** wordsToPieceMatrix over a batch of equal-length encodings: index [B,T], mask [B,maxWords]. */
export function batchWordsToPieceMatrix(encs: Encoding[], maxWords: number): { index: Int32Array; mask: Float32Array; length: number } {
  const T = encs[0]?.wordIds.length ?? 0;
  const index = new Int32Array(encs.length * T);
  const mask = new Float32Array(encs.length * maxWords);
  encs.forEach((e, b) => {
    if (e.wordIds.length !== T) throw new ConfigError(`encoding ${b} has length ${e.wordIds.length}, expected ${T} (use encodeBatch)`, 'encodings');
    const m = wordsToPieceMatrix(e, maxWords);
    index.set(m.index, b * T);
    mask.set(m.mask, b * maxWords);
  });
  return { index, mask, length: T };
}

function readText(file: string): string {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(code === 'ENOENT' ? `${file}: file not found` : `${file}: cannot read (${(e as Error).message})`, file);
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new DataError(`${file}: not valid UTF-8 text`, file);
  }
}

/** vocab.txt lines -> tokens (HF load_vocab strips only the line ending). */
export function parseVocabText(text: string, source = '(vocab text)'): string[] {
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const tokens = lines.map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (tokens.length === 0) throw new DataError(`${source}: the vocabulary is empty`, source);
  return tokens;
}

type Json = Record<string, unknown>;
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** tokenizer.json -> tokens by id and options (normaliser flags, special tokens). */
export function parseTokenizerJson(json: unknown, source = '(tokenizer.json)'): { tokens: string[]; opts: WordPieceOptions } {
  if (!isObj(json)) throw new DataError(`${source}: expected a JSON object`, source);
  const model = json.model;
  if (!isObj(model)) throw new DataError(`${source}: missing "model"`, source, 'model');
  if (model.type !== undefined && model.type !== 'WordPiece') {
    throw new DataError(`${source}: model.type is ${JSON.stringify(model.type)}, only WordPiece is supported`, source, 'model.type');
  }
  const vocab = model.vocab;
  if (!isObj(vocab)) throw new DataError(`${source}: model.vocab must be an object {token: id}`, source, 'model.vocab');
  const tokens: string[] = [];
  for (const [tok, id] of Object.entries(vocab)) {
    if (!Number.isInteger(id) || (id as number) < 0) throw new DataError(`${source}: model.vocab[${JSON.stringify(tok)}] must be a non-negative integer id`, source, 'model.vocab');
    tokens[id as number] = tok;
  }
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === undefined) throw new DataError(`${source}: model.vocab has no token with id ${i} (ids must be 0..N-1)`, source, 'model.vocab');
  }
  const opts: WordPieceOptions = {};
  if (typeof model.max_input_chars_per_word === 'number') opts.maxInputCharsPerWord = model.max_input_chars_per_word;
  if (typeof model.continuing_subword_prefix === 'string') opts.continuingSubwordPrefix = model.continuing_subword_prefix;
  const specials: Partial<SpecialTokens> = {};
  if (typeof model.unk_token === 'string') specials.unk = model.unk_token;
  Object.assign(opts, normalizerFlags(json.normalizer, source));
  const post = json.post_processor;
  if (isObj(post)) {
    // BertProcessing: {sep: [tok, id], cls: [tok, id]}; TemplateProcessing: single = [SpecialToken, A, SpecialToken].
    if (Array.isArray(post.cls) && typeof post.cls[0] === 'string') specials.cls = post.cls[0];
    if (Array.isArray(post.sep) && typeof post.sep[0] === 'string') specials.sep = post.sep[0];
    if (Array.isArray(post.single)) {
      const ids = post.single.flatMap((p) => (isObj(p) && isObj(p.SpecialToken) && typeof p.SpecialToken.id === 'string' ? [p.SpecialToken.id] : []));
      if (ids.length >= 1) specials.cls = ids[0];
      if (ids.length >= 2) specials.sep = ids[ids.length - 1];
    }
  }
  if (isObj(json.padding) && typeof json.padding.pad_token === 'string') specials.pad = json.padding.pad_token;
  opts.specialTokens = specials;
  return { tokens, opts };
}

function normalizerFlags(n: unknown, source: string): Pick<WordPieceOptions, 'lowerCase' | 'stripAccents' | 'tokenizeChineseChars'> {
  if (n === null || n === undefined) return { lowerCase: false, stripAccents: false };
  if (!isObj(n)) throw new DataError(`${source}: normalizer must be an object`, source, 'normalizer');
  if (n.type === 'BertNormalizer') {
    const lowerCase = n.lowercase !== false;
    const strip = typeof n.strip_accents === 'boolean' ? n.strip_accents : lowerCase;
    return { lowerCase, stripAccents: strip, tokenizeChineseChars: n.handle_chinese_chars !== false };
  }
  if (n.type === 'Sequence' && Array.isArray(n.normalizers)) {
    const types = n.normalizers.map((x) => (isObj(x) ? x.type : undefined));
    const bert = n.normalizers.find((x) => isObj(x) && x.type === 'BertNormalizer');
    const base = bert ? normalizerFlags(bert, source) : { lowerCase: false, stripAccents: false };
    return {
      ...base,
      lowerCase: base.lowerCase || types.includes('Lowercase'),
      stripAccents: base.stripAccents || types.includes('StripAccents'),
    };
  }
  if (n.type === 'Lowercase') return { lowerCase: true, stripAccents: false };
  throw new DataError(`${source}: normalizer type ${JSON.stringify(n.type)} is not supported (expected BertNormalizer)`, source, 'normalizer');
}

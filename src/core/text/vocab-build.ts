// Learns a WordPiece vocabulary from report text, the way Hugging Face's WordPieceTrainer does:
// start from every character (word-initial form "x" and continuation form "##x"), then repeatedly
// merge the adjacent pair of pieces with the highest corpus count into a new piece.
//
// Vocabulary order (documented contract): [PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4, then the
// alphabet (word-initial characters by code point, then "##" characters by code point), then
// merged pieces in the order they were learned. Ties are broken by the merged string, then by its
// left part (code-unit order), so the result is deterministic.
//
// Because every character of every training word is in the alphabet in both forms, greedy
// longest-match WordPiece can always fall back to single characters: no training word becomes [UNK].
import { ConfigError } from '../errors';
import { basicTokenize } from './basic-tokenizer';

export const VOCAB_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'] as const;
const PREFIX = '##';

export interface BuildVocabOptions {
  /** Largest vocabulary size (including specials and the alphabet). */
  size: number;
  /** A pair must occur at least this often (summed over word frequencies) to be merged (default 2). */
  minFrequency?: number;
  /** Lower-case and strip accents like uncased BERT (default true). */
  lowerCase?: boolean;
}

export interface VocabBuildStats {
  texts: number;
  /** Basic-tokenizer words in the corpus (with repeats). */
  totalWords: number;
  uniqueWords: number;
  alphabetSize: number;
  merges: number;
  /** Why learning stopped: the size was reached, or no pair met minFrequency. */
  stoppedBy: 'size' | 'min-frequency';
}

export interface VocabBuildResult {
  vocab: string[];
  stats: VocabBuildStats;
}

export function buildVocab(texts: Iterable<string>, opts: BuildVocabOptions): string[] {
  return buildVocabDetailed(texts, opts).vocab;
}

interface Word { symbols: string[]; freq: number }
interface Candidate { count: number; merged: string; a: string; b: string; key: string }

const SEP = '\u0000';
const pairKey = (a: string, b: string): string => a + SEP + b;
const joinPieces = (a: string, b: string): string => a + b.slice(PREFIX.length);

function better(x: Candidate, y: Candidate): boolean {
  if (x.count !== y.count) return x.count > y.count;
  if (x.merged !== y.merged) return x.merged < y.merged;
  return x.a < y.a;
}

/** Binary max-heap of merge candidates; stale entries are skipped when popped. */
class CandidateHeap {
  private items: Candidate[] = [];
  push(c: Candidate): void {
    const h = this.items;
    h.push(c);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!better(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }
  pop(): Candidate | undefined {
    const h = this.items;
    if (h.length === 0) return undefined;
    const top = h[0];
    const last = h.pop() as Candidate;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && better(h[l], h[m])) m = l;
        if (r < h.length && better(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }
}

export function buildVocabDetailed(texts: Iterable<string>, opts: BuildVocabOptions): VocabBuildResult {
  const { size } = opts;
  const minFrequency = opts.minFrequency ?? 2;
  const lowerCase = opts.lowerCase ?? true;
  if (!(Number.isInteger(size) && size > 0)) throw new ConfigError(`vocabulary size must be a positive integer, got ${size}`, 'size');
  if (!(Number.isInteger(minFrequency) && minFrequency >= 1)) throw new ConfigError(`min frequency must be an integer >= 1, got ${minFrequency}`, 'minFrequency');

  const freq = new Map<string, number>();
  let nTexts = 0;
  let totalWords = 0;
  for (const text of texts) {
    nTexts++;
    for (const tok of basicTokenize(text, { lowerCase })) {
      freq.set(tok.norm, (freq.get(tok.norm) ?? 0) + 1);
      totalWords++;
    }
  }

  const words: Word[] = [...freq.entries()]
    .sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))
    .map(([w, f]) => ({ symbols: Array.from(w, (ch, i) => (i === 0 ? ch : PREFIX + ch)), freq: f }));

  const initial = new Set<string>();
  const continuing = new Set<string>();
  for (const w of words) w.symbols.forEach((s, i) => (i === 0 ? initial : continuing).add(s));
  const byCodePoint = (x: string, y: string): number => {
    const a = Array.from(x, (c) => c.codePointAt(0) as number);
    const b = Array.from(y, (c) => c.codePointAt(0) as number);
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
    return a.length - b.length;
  };
  const alphabet = [...[...initial].sort(byCodePoint), ...[...continuing].sort(byCodePoint)];
  const vocab: string[] = [...VOCAB_SPECIALS];
  const inVocab = new Set<string>(vocab);
  for (const s of alphabet) if (!inVocab.has(s)) { vocab.push(s); inVocab.add(s); }
  if (vocab.length > size) {
    throw new ConfigError(
      `vocabulary size ${size} is too small: the ${VOCAB_SPECIALS.length} special tokens and the corpus alphabet (${alphabet.length} single-character pieces, word-initial and ## forms) need at least ${vocab.length}`,
      'size',
    );
  }

  const counts = new Map<string, number>();
  const where = new Map<string, Set<number>>();
  const heap = new CandidateHeap();
  const touched = new Set<string>();
  const addPairs = (wi: number, sign: 1 | -1): void => {
    const { symbols, freq: f } = words[wi];
    for (let i = 0; i + 1 < symbols.length; i++) {
      const key = pairKey(symbols[i], symbols[i + 1]);
      counts.set(key, (counts.get(key) ?? 0) + sign * f);
      touched.add(key);
      if (sign > 0) {
        let s = where.get(key);
        if (!s) where.set(key, (s = new Set()));
        s.add(wi);
      }
    }
  };
  const flushTouched = (): void => {
    for (const key of touched) {
      const count = counts.get(key) ?? 0;
      if (count <= 0) { counts.delete(key); continue; }
      const [a, b] = key.split(SEP);
      heap.push({ count, merged: joinPieces(a, b), a, b, key });
    }
    touched.clear();
  };
  words.forEach((_, wi) => addPairs(wi, 1));
  flushTouched();

  let merges = 0;
  let stoppedBy: 'size' | 'min-frequency' = 'min-frequency';
  while (true) {
    if (vocab.length >= size) { stoppedBy = 'size'; break; }
    let best: Candidate | undefined;
    for (let c = heap.pop(); c; c = heap.pop()) {
      if (counts.get(c.key) === c.count) { best = c; break; }
    }
    if (!best || best.count < minFrequency) break;
    merges++;
    // Two different pairs can spell the same piece ("ab"+"##c", "a"+"##bc"): merge both, list once.
    if (!inVocab.has(best.merged)) { vocab.push(best.merged); inVocab.add(best.merged); }
    const affected = [...(where.get(best.key) ?? [])].sort((x, y) => x - y);
    where.delete(best.key);
    for (const wi of affected) {
      const syms = words[wi].symbols;
      let has = false;
      for (let i = 0; i + 1 < syms.length; i++) if (syms[i] === best.a && syms[i + 1] === best.b) { has = true; break; }
      if (!has) continue;
      addPairs(wi, -1);
      const next: string[] = [];
      for (let i = 0; i < syms.length; i++) {
        if (i + 1 < syms.length && syms[i] === best.a && syms[i + 1] === best.b) { next.push(best.merged); i++; }
        else next.push(syms[i]);
      }
      words[wi].symbols = next;
      addPairs(wi, 1);
    }
    counts.delete(best.key);
    touched.delete(best.key);
    flushTouched();
  }

  return {
    vocab,
    stats: { texts: nTexts, totalWords, uniqueWords: words.length, alphabetSize: alphabet.length, merges, stoppedBy },
  };
}

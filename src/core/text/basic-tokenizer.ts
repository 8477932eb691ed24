// BERT's "basic tokenizer" (Hugging Face BertTokenizer / BertNormalizer + BertPreTokenizer),
// reproduced so that a vocabulary exported from Python tokenises identically here, with one
// addition HF's slow tokenizer lacks: every normalised character remembers where it came from in
// the original text, so words and pieces map back to [start, end) even when lower-casing or
// accent stripping changes lengths ("İ" -> "i̇" -> "i").
//
// Offsets are JavaScript string indices (UTF-16 code units): text.slice(start, end) is the span.
// Lengths that BERT compares (max_input_chars_per_word) are counted in code points, as Python does.

/** A word of the original text: text is exactly original.slice(start, end). */
export interface WordSpan {
  text: string;
  start: number;
  end: number;
}

/** One normalised code point and the original span it came from. */
export interface NormChar {
  ch: string;
  start: number;
  end: number;
}

/** A basic-tokenizer token: its original span plus its normalised characters. */
export interface BasicToken extends WordSpan {
  /** Normalised form (lower-cased, accents stripped when enabled): what WordPiece sees. */
  norm: string;
  chars: NormChar[];
  /** True for a never-split token (e.g. a literal "[MASK]" in the text). */
  special: boolean;
}

export interface BasicTokenizerOptions {
  /** BERT do_lower_case (default true: uncased models). */
  lowerCase?: boolean;
  /** Defaults to lowerCase, as in HF (strip_accents=None follows do_lower_case). */
  stripAccents?: boolean;
  /** Put spaces around CJK ideographs (default true). */
  tokenizeChineseChars?: boolean;
  /** Strings kept whole wherever they occur (HF matches special tokens before normalising). */
  neverSplit?: readonly string[];
}

const CONTROL = /^\p{C}$/u;
const SPACE_SEPARATOR = /^\p{Zs}$/u;
const UNICODE_PUNCT = /^\p{P}$/u;
const MARK = /^\p{M}$/u;
const NONSPACING_MARK = /\p{Mn}/gu;

function isWhitespace(cp: number, ch: string): boolean {
  // Python's str.split() also splits on line/paragraph separators, which cleaning keeps.
  return cp === 0x20 || cp === 0x09 || cp === 0x0a || cp === 0x0d || cp === 0x2028 || cp === 0x2029 || SPACE_SEPARATOR.test(ch);
}

function isControl(cp: number, ch: string): boolean {
  if (cp === 0x09 || cp === 0x0a || cp === 0x0d) return false;
  return CONTROL.test(ch);
}

/** BERT's _is_punctuation: all non-alphanumeric ASCII plus every Unicode P* category. */
export function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0) ?? 0;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return UNICODE_PUNCT.test(ch);
}

/** BERT's _is_chinese_char: the CJK Unified Ideographs blocks (not Japanese kana or Hangul). */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

// Characters that NFC may fuse with the preceding one: combining marks and Hangul medial/final
// jamo. Grouping them keeps per-cluster normalisation equal to normalising the whole text.
function continuesCluster(cp: number, ch: string): boolean {
  return (cp >= 0x1160 && cp <= 0x11ff) || MARK.test(ch);
}

interface RawChar { ch: string; cp: number; start: number; end: number }

/**
 * Cleans the text and splits it on whitespace (and around CJK ideographs), as BERT does before
 * any normalisation. Each returned token is a list of original code points with their spans.
 */
function whitespaceTokens(text: string, base: number, tokenizeChinese: boolean): RawChar[][] {
  const tokens: RawChar[][] = [];
  let cur: RawChar[] = [];
  const flush = (): void => {
    if (cur.length) tokens.push(cur);
    cur = [];
  };
  let i = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0) as number;
    const start = base + i;
    i += ch.length;
    if (cp === 0 || cp === 0xfffd || isControl(cp, ch)) continue;
    if (isWhitespace(cp, ch)) { flush(); continue; }
    if (tokenizeChinese && isChineseChar(cp)) {
      flush();
      tokens.push([{ ch, cp, start, end: base + i }]);
      continue;
    }
    cur.push({ ch, cp, start, end: base + i });
  }
  flush();
  return tokens;
}

/**
 * Normalises one whitespace token, keeping each output char's source span. NFC (HF's slow
 * tokenizer applies it) runs per cluster: a character and the marks that may fuse with it. Where
 * it changes nothing, lower-casing and accent stripping run per original character, so a stripped
 * mark leaves no trace in the spans; a cluster that NFC rewrites maps as a whole to its span.
 */
function normaliseToken(raw: RawChar[], lowerCase: boolean, stripAccents: boolean): NormChar[] {
  const clusters: RawChar[][] = [];
  for (const c of raw) {
    const last = clusters[clusters.length - 1];
    if (last && continuesCluster(c.cp, c.ch)) last.push(c);
    else clusters.push([c]);
  }
  const units: { original: string; form: string; start: number; end: number }[] = [];
  for (const cl of clusters) {
    const original = cl.map((c) => c.ch).join('');
    // With accent stripping, NFC is undone by the NFD that follows (case mapping respects
    // canonical equivalence), so skipping it keeps every character's own span, as HF's fast
    // tokenizer (which never composes) reports them.
    const nfc = stripAccents ? original : original.normalize('NFC');
    if (nfc === original) for (const c of cl) units.push({ original: c.ch, form: c.ch, start: c.start, end: c.end });
    else units.push({ original, form: nfc, start: cl[0].start, end: cl[cl.length - 1].end });
  }
  if (lowerCase) {
    // Lower-casing the whole token applies context rules (Greek final sigma) like Python's
    // str.lower(); it never changes lengths relative to per-unit lower-casing, so the result
    // can be cut back into units.
    const perUnit = units.map((u) => u.form.toLowerCase());
    const whole = units.map((u) => u.form).join('').toLowerCase();
    const sameLength = whole.length === perUnit.reduce((n, s) => n + s.length, 0);
    let at = 0;
    units.forEach((u, k) => {
      u.form = sameLength ? whole.slice(at, at + perUnit[k].length) : perUnit[k];
      at += perUnit[k].length;
    });
  }
  if (stripAccents) for (const u of units) u.form = u.form.normalize('NFD').replace(NONSPACING_MARK, '');

  const out: NormChar[] = [];
  for (const u of units) for (const ch of u.form) out.push({ ch, start: u.start, end: u.end });
  return out;
}

function makeToken(text: string, chars: NormChar[], special: boolean): BasicToken {
  const start = chars[0].start;
  // A loop, not Math.max(...): spreading a very long word's characters overflows the call stack.
  let end = start;
  for (const c of chars) if (c.end > end) end = c.end;
  return { text: text.slice(start, end), start, end, norm: chars.map((c) => c.ch).join(''), chars, special };
}

/** Splits text around never-split strings (leftmost, then longest match), like HF's added-token trie. */
function splitNeverSplit(text: string, neverSplit: readonly string[]): { start: number; end: number; special: boolean }[] {
  const specials = neverSplit.filter((s) => s.length > 0);
  const parts: { start: number; end: number; special: boolean }[] = [];
  let from = 0;
  let pos = 0;
  while (specials.length && pos < text.length) {
    let best: string | undefined;
    let bestAt = Infinity;
    for (const s of specials) {
      const at = text.indexOf(s, pos);
      if (at >= 0 && (at < bestAt || (at === bestAt && best !== undefined && s.length > best.length))) {
        best = s;
        bestAt = at;
      }
    }
    if (best === undefined) break;
    if (bestAt > from) parts.push({ start: from, end: bestAt, special: false });
    parts.push({ start: bestAt, end: bestAt + best.length, special: true });
    from = pos = bestAt + best.length;
  }
  if (from < text.length) parts.push({ start: from, end: text.length, special: false });
  return parts;
}

/**
 * BERT's BasicTokenizer with offsets: clean text, space CJK ideographs, NFC, whitespace split,
 * lower-case and strip accents, split off every punctuation character.
 */
export function basicTokenize(text: string, opts: BasicTokenizerOptions = {}): BasicToken[] {
  const lowerCase = opts.lowerCase ?? true;
  const stripAccents = opts.stripAccents ?? lowerCase;
  const tokenizeChinese = opts.tokenizeChineseChars ?? true;
  const out: BasicToken[] = [];
  for (const part of splitNeverSplit(text, opts.neverSplit ?? [])) {
    if (part.special) {
      const chars = Array.from(text.slice(part.start, part.end), (ch) => ({ ch, start: part.start, end: part.end }));
      out.push({ ...makeToken(text, chars, true), norm: text.slice(part.start, part.end) });
      continue;
    }
    for (const raw of whitespaceTokens(text.slice(part.start, part.end), part.start, tokenizeChinese)) {
      let word: NormChar[] = [];
      const flush = (): void => {
        if (word.length) out.push(makeToken(text, word, false));
        word = [];
      };
      for (const c of normaliseToken(raw, lowerCase, stripAccents)) {
        if (isPunctuation(c.ch)) {
          flush();
          out.push(makeToken(text, [c], false));
        } else {
          word.push(c);
        }
      }
      flush();
    }
  }
  return out;
}

/**
 * The word units of a report: BERT basic-tokenizer tokens (each punctuation character is its own
 * word), as spans of the original text. These are the words whose pieces a model sums.
 */
export function basicWords(text: string, opts: { lowerCase?: boolean } = {}): WordSpan[] {
  return basicTokenize(text, { lowerCase: opts.lowerCase }).map(({ text: t, start, end }) => ({ text: t, start, end }));
}

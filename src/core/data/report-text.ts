// Radiology report text: section extraction (MIMIC-CXR style headings), the text used for
// training (impression + findings, as MGCA), sentence splitting with character offsets (for
// explanations that point back into the report), and MGCA's cleaning (METHODS.md section 1).

/** Headings recognised in any letter case; other ALL-CAPS "HEADING:" lines are headings too. */
const KNOWN_HEADINGS = [
  'final report', 'examination', 'exam', 'indication', 'indications', 'history', 'clinical history',
  'clinical information', 'reason for exam', 'reason for examination', 'technique', 'procedure',
  'comparison', 'comparisons', 'findings', 'finding', 'findings and impression', 'impression',
  'impressions', 'conclusion', 'conclusions', 'recommendation', 'recommendations', 'notification',
  'wet read', 'addendum',
];

const ALIASES: Record<string, string> = {
  indications: 'indication',
  comparisons: 'comparison',
  finding: 'findings',
  impressions: 'impression',
  conclusions: 'conclusion',
  recommendations: 'recommendation',
  exam: 'examination',
};

/** Headings that stand on their own line without a colon (MIMIC's centred "FINAL REPORT"). */
const COLONLESS = new Set(['final report', 'addendum']);

interface Heading {
  key: string;
  /** Offset of the heading's first character. */
  start: number;
  /** Offset just past the heading (and its colon). */
  end: number;
}

const KNOWN_SET = new Set(KNOWN_HEADINGS);

function normaliseHeading(raw: string): string {
  return raw.trim().toLowerCase().replace(/\s+/g, ' ');
}

function findHeadings(text: string): Heading[] {
  const out: Heading[] = [];
  // A heading starts a line (after indentation): "NAME:" or a colon-less known heading alone on its line.
  const re = /^[ \t]*([A-Za-z][A-Za-z /&-]{1,48}?)[ \t]*(:|(?=[ \t]*(?:\r?\n|$)))/gm;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text)) !== null) {
    const raw = m[1];
    const norm = normaliseHeading(raw);
    const hasColon = m[2] === ':';
    const known = KNOWN_SET.has(norm);
    const allCaps = /[A-Z]/.test(raw) && raw === raw.toUpperCase();
    let ok = false;
    if (hasColon) ok = known || (allCaps && raw.trim().length >= 3);
    else ok = COLONLESS.has(norm);
    if (!ok) continue;
    const start = m.index + m[0].length - m[0].trimStart().length;
    out.push({ key: ALIASES[norm] ?? norm, start, end: m.index + m[0].length });
  }
  // One-line reports ("... unremarkable. IMPRESSION: Small effusion.", as the synthetic generator
  // and many exports write them): a known heading in capitals with its colon right after a
  // sentence's end is a heading too. Mixed case mid-line ("Impression: none") stays prose.
  const inline = /[.!?][ \t]+([A-Z][A-Z /&-]{1,48}?):/g;
  while ((m = inline.exec(text)) !== null) {
    const norm = normaliseHeading(m[1]);
    if (!KNOWN_SET.has(norm)) continue;
    const start = m.index + m[0].indexOf(m[1]);
    if (out.some((h) => h.start === start)) continue;
    out.push({ key: ALIASES[norm] ?? norm, start, end: m.index + m[0].length });
  }
  return out.sort((a, b) => a.start - b.start);
}

/** [start, end) of every section heading of a report, its colon included ("FINDINGS:"). */
export function headingSpans(text: string): [number, number][] {
  return findHeadings(text).map((h) => [h.start, h.end]);
}

/**
 * Sections of a report keyed by lower-case heading ('findings', 'impression', 'final report',
 * 'indication', 'comparison', ...): the text after each heading up to the next one, trimmed.
 * Repeated headings are joined with a newline. Text before the first heading is not returned.
 */
export function extractSections(text: string): Record<string, string> {
  const heads = findHeadings(text);
  const out: Record<string, string> = {};
  heads.forEach((h, k) => {
    const stop = k + 1 < heads.length ? heads[k + 1].start : text.length;
    const body = text.slice(h.end, stop).trim();
    out[h.key] = out[h.key] !== undefined && out[h.key] !== '' ? (body ? `${out[h.key]}\n${body}` : out[h.key]) : body;
  });
  return out;
}

function collapse(s: string): string {
  return s.replace(/\s+/g, ' ').trim();
}

/**
 * The text MGCA trains on: impression then findings (whitespace collapsed within each, a blank
 * line between them). Falls back to a
 * combined "findings and impression" or "conclusion" section, then to the whole report with its
 * heading labels removed.
 */
export function reportForTraining(text: string): string {
  const s = extractSections(text);
  const parts = [s.impression, s.findings].filter((p): p is string => Boolean(p && p.trim()));
  if (parts.length === 0) {
    for (const k of ['findings and impression', 'conclusion']) if (s[k]?.trim()) parts.push(s[k]);
  }
  // A blank line between sections keeps them separate sentences even without a final period.
  if (parts.length) return parts.map(collapse).join('\n\n');
  const heads = findHeadings(text);
  let body = '';
  let pos = 0;
  for (const h of heads) {
    body += text.slice(pos, h.start) + ' ';
    pos = h.end;
  }
  body += text.slice(pos);
  return collapse(body);
}

export interface SentenceSpan {
  /** Offset of the first character in the input. */
  start: number;
  /** Offset just past the last character (end punctuation included). */
  end: number;
  text: string;
}

/** Words whose trailing period does not end a sentence. */
const ABBREVIATIONS = new Set([
  'e.g', 'i.e', 'etc', 'vs', 'approx', 'apprx', 'dr', 'mr', 'mrs', 'ms', 'fig', 'figs', 'cf', 'al', 'incl',
  'resp', 'no', 'nos',
]);

/**
 * Abbreviations that also end sentences ("... no.", "..., etc."): they continue the sentence only
 * when a number ("No. 2") or, for "etc", a lower-case word follows on the same line.
 */
const AMBIGUOUS_FINAL = new Set(['no', 'etc']);

const LIST_MARKER = /^(\d{1,2})[.)](?=\s)/;

/**
 * Splits report text into sentences with character offsets into `text`. Boundaries: . ! ? followed
 * by whitespace or the end (not after abbreviations such as "e.g." or inside decimals such as
 * "1.5 cm"), blank lines, and list markers ("1.", "2)") which are left out of the sentences.
 * Spans without any letter or digit are dropped.
 */
export function splitSentences(text: string): SentenceSpan[] {
  const spans: SentenceSpan[] = [];
  const n = text.length;
  let segStart = 0;
  let lastMarker = 0;

  const push = (a: number, b: number): void => {
    while (a < b && /\s/.test(text[a])) a++;
    while (b > a && /\s/.test(text[b - 1])) b--;
    if (b > a && /[\p{L}\p{N}]/u.test(text.slice(a, b))) spans.push({ start: a, end: b, text: text.slice(a, b) });
  };
  // At a sentence start, skip a list marker so that it is not part of the sentence.
  const skipMarker = (p: number, atLineStartOrFirst: boolean): number => {
    let q = p;
    while (q < n && /\s/.test(text[q])) q++;
    const m = LIST_MARKER.exec(text.slice(q, q + 4));
    if (m && (atLineStartOrFirst || Number(m[1]) === lastMarker + 1 || Number(m[1]) === 1)) {
      lastMarker = Number(m[1]);
      return q + m[0].length;
    }
    return p;
  };

  segStart = skipMarker(0, true);
  let i = segStart;
  while (i < n) {
    const c = text[i];
    // Blank line: paragraph boundary.
    if (c === '\n') {
      let j = i + 1;
      while (j < n && (text[j] === ' ' || text[j] === '\t' || text[j] === '\r')) j++;
      if (j < n && text[j] === '\n') {
        push(segStart, i);
        segStart = skipMarker(j + 1, true);
        i = segStart;
        continue;
      }
      // A new line that begins with a list marker starts a new sentence even without a period.
      const m = LIST_MARKER.exec(text.slice(j, j + 4));
      if (m) {
        push(segStart, i);
        segStart = skipMarker(j, true);
        i = segStart;
        continue;
      }
      i++;
      continue;
    }
    if (c === '.' || c === '!' || c === '?') {
      let j = i + 1;
      while (j < n && (text[j] === '.' || text[j] === '!' || text[j] === '?')) j++;
      // Keep closing brackets and quotes with the sentence.
      while (j < n && /[)\]"'’”]/.test(text[j])) j++;
      const atEnd = j >= n || /\s/.test(text[j]);
      if (!atEnd || (c === '.' && j === i + 1 && isAbbreviation(text, i, segStart))) {
        i = j;
        continue;
      }
      // "... measured 2. 3. Small effusion": a number followed by a period that continues a list.
      const numBefore = /(?:^|\s)(\d{1,2})$/.exec(text.slice(Math.max(segStart, i - 4), i));
      if (c === '.' && numBefore && Number(numBefore[1]) === lastMarker + 1 && lastMarker > 0) {
        const markerStart = i - numBefore[1].length;
        push(segStart, markerStart);
        lastMarker = Number(numBefore[1]);
        segStart = j;
        i = j;
        continue;
      }
      push(segStart, j);
      segStart = skipMarker(j, false);
      i = segStart > j ? segStart : j;
      continue;
    }
    i++;
  }
  push(segStart, n);
  return spans;
}

function isAbbreviation(text: string, dot: number, segStart: number): boolean {
  let k = dot;
  while (k > segStart && /[A-Za-z.]/.test(text[k - 1])) k--;
  const word = text.slice(k, dot).toLowerCase();
  if (!word) return false;
  // Dotted initialisms: "e.g", "i.e", "a.m".
  if (/^([a-z]\.)+[a-z]$/.test(word)) return true;
  if (!ABBREVIATIONS.has(word)) return false;
  if (!AMBIGUOUS_FINAL.has(word)) return true;
  let j = dot + 1;
  while (j < text.length && (text[j] === ' ' || text[j] === '\t')) j++;
  if (j >= text.length || text[j] === '\n' || text[j] === '\r') return false;
  if (word === 'no') return /\d/.test(text[j]);
  return /[a-z]/.test(text[j]);
}

/** Lower-case \w+ tokens with non-ASCII characters removed (as MGCA's ascii encode/ignore). */
export function mgcaTokens(text: string): string[] {
  const out: string[] = [];
  for (const m of text.toLowerCase().matchAll(/[\p{L}\p{N}_]+/gu)) {
    const ascii = m[0].replace(/[^\x00-\x7f]/g, '');
    if (ascii) out.push(ascii);
  }
  return out;
}

/**
 * MGCA's report cleaning: per sentence, lower-case \w+ tokens; sentences with <= 1 token are
 * dropped; the remaining tokens are joined with single spaces.
 */
export function cleanReportMgca(text: string): string {
  const kept: string[] = [];
  for (const s of splitSentences(text)) {
    const toks = mgcaTokens(s.text);
    if (toks.length > 1) kept.push(toks.join(' '));
  }
  return kept.join(' ');
}

/** Number of \w+ words in the text. */
export function countWords(text: string): number {
  return text.match(/[\p{L}\p{N}_]+/gu)?.length ?? 0;
}

// Control characters other than the usual whitespace, private-use code points and U+FFFD (what a
// lenient decoder makes of invalid bytes): none of them belongs in a radiology report.
const NON_TEXT = /(?![\t\n\v\f\r])[\p{Cc}\p{Co}\uFFFD]/gu;
/** Largest share of NON_TEXT characters a report may have before it counts as binary data. */
const MAX_NON_TEXT_SHARE = 0.02;

/**
 * Why a report's text cannot be trained on or explained (undefined when it can): the one rule
 * shared by `info`, `train` and `explain`. Refused: empty or whitespace only; no letter or digit
 * at all (zero-width characters, punctuation); NUL characters or more than 2% control /
 * replacement characters (a binary file).
 */
export function reportTextProblem(text: string): string | undefined {
  if (text.trim() === '') return 'is empty';
  if (text.includes('\0')) return 'contains NUL characters (a binary file, not text)';
  const nonText = text.match(NON_TEXT)?.length ?? 0;
  if (nonText > MAX_NON_TEXT_SHARE * text.length) {
    return `does not look like text (${Math.round((100 * nonText) / text.length)}% control or undecodable characters)`;
  }
  if (!/[\p{L}\p{N}]/u.test(text)) return 'has no words (only whitespace, punctuation or invisible characters such as zero-width spaces)';
  return undefined;
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** A report file's bytes as text (UTF-8, BOM stripped), or why they are not a usable report. */
export function decodeReportText(bytes: Uint8Array): { ok: true; text: string } | { ok: false; reason: string } {
  let text: string;
  try {
    text = strictUtf8.decode(bytes);
  } catch {
    return { ok: false, reason: 'is not valid UTF-8 text' };
  }
  const problem = reportTextProblem(text);
  return problem ? { ok: false, reason: problem } : { ok: true, text };
}

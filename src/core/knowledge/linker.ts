// Entity linker: maps report words and phrases to knowledge-base entities, with NegEx-style
// negation and uncertainty. Matching is longest-first over the KB's phrase table (case-, plural-
// and hyphen-tolerant). A cue's scope runs forward (pre cues: "no ...") or backward (post cues:
// "... is not seen") from the cue and ends at a sentence end, a terminator ("but", "however",
// "is"), another cue, or once it has passed `maxScopeTokens` words that are neither entity
// mentions nor list glue ("or", "the") -- so "no pneumothorax, pleural effusion or focal
// consolidation" negates all three while "no effusion; the heart is enlarged" negates one.
import type { CueDirection } from './schema';
import { type CueInfo, type KnowledgeBase } from './kb';
import { type Token, longestFirst, tokenize } from './terms';

export interface EntityMention {
  entityId: string;
  /** Char offsets into the input text: text.slice(start, end) === this.text. */
  start: number;
  end: number;
  text: string;
  /** In the scope of a negation cue (for findings and devices: stated absent). */
  negated: boolean;
  /** In the scope of an uncertainty cue ("possible", "cannot exclude"). */
  uncertain: boolean;
}

export interface LinkOptions {
  /** Non-entity, non-glue words a cue scope may pass before it ends (NegEx uses about 5). */
  maxScopeTokens?: number;
}

export const DEFAULT_MAX_SCOPE_TOKENS = 5;

interface Span {
  start: number;
  length: number;
}

interface CueSpan extends Span {
  value: CueInfo;
}

/**
 * breaks[i]: a sentence boundary lies between token i-1 and token i. Sentence ends are . ; ! ? :
 * and blank lines; a point between digits ("1.2 cm") and single line wraps are not.
 */
export function sentenceBreaks(text: string, tokens: readonly Token[]): boolean[] {
  const breaks = tokens.map(() => false);
  for (let i = 1; i < tokens.length; i++) {
    const gap = text.slice(tokens[i - 1].end, tokens[i].start);
    if (/\n[ \t\r]*\n/.test(gap)) breaks[i] = true;
    else if (/[;!?:]/.test(gap)) breaks[i] = true;
    else if (gap.includes('.')) {
      const decimal = gap === '.' && /^\d+$/.test(tokens[i - 1].norm) && /^\d+$/.test(tokens[i].norm);
      breaks[i] = !decimal;
    }
  }
  return breaks;
}

/** Links every entity mention in `text`, each flagged negated/uncertain by the KB's cues. */
export function linkEntities(text: string, kb: KnowledgeBase, options: LinkOptions = {}): EntityMention[] {
  const maxScope = options.maxScopeTokens ?? DEFAULT_MAX_SCOPE_TOKENS;
  const tokens = tokenize(text);
  if (!tokens.length) return [];
  const breaks = sentenceBreaks(text, tokens);

  const entitySpans = longestFirst(kb.terms.matchAll(tokens, breaks));
  // Terminators never cut through an entity ("increased in size" is not "... is ..."); cues may
  // coincide with one ("possible" is both a certainty modifier and an uncertainty cue).
  const entityAt: (number | undefined)[] = new Array(tokens.length);
  entitySpans.forEach((m, k) => {
    for (let i = m.start; i < m.start + m.length; i++) entityAt[i] = k;
  });
  const cueCandidates = kb.cueTable.matchAll(tokens, breaks).filter((c) => {
    if (c.value.type !== 'terminator') return true;
    for (let i = c.start; i < c.start + c.length; i++) if (entityAt[i] !== undefined) return false;
    return true;
  });
  const cues: CueSpan[] = longestFirst(cueCandidates);
  const cueStartAt: (CueSpan | undefined)[] = new Array(tokens.length);
  const cueEndAt: (CueSpan | undefined)[] = new Array(tokens.length);
  for (const c of cues) {
    cueStartAt[c.start] = c;
    cueEndAt[c.start + c.length - 1] = c;
  }

  const negated = entitySpans.map(() => false);
  const uncertain = entitySpans.map(() => false);
  const mark = (k: number, type: CueInfo['type']) => {
    if (type === 'negation') negated[k] = true;
    else if (type === 'uncertainty') uncertain[k] = true;
  };

  const walk = (cue: CueSpan, dir: CueDirection) => {
    const step = dir === 'pre' ? 1 : -1;
    let i = dir === 'pre' ? cue.start + cue.length : cue.start - 1;
    const first = i;
    let budget = maxScope;
    while (i >= 0 && i < tokens.length) {
      // A boundary between this token and the one nearer the cue ends the scope.
      if (dir === 'pre' ? breaks[i] : breaks[i + 1]) break;
      const other = dir === 'pre' ? cueStartAt[i] : cueEndAt[i];
      if (other && other !== cue && (other.value.type === 'terminator' || i !== first)) break;
      const k = entityAt[i];
      if (k !== undefined) {
        mark(k, cue.value.type);
        const m = entitySpans[k];
        i = dir === 'pre' ? m.start + m.length : m.start - 1;
        continue;
      }
      if (other && i === first) {
        // An adjacent cue ("no" + "suspicious for") is passed over as a whole.
        i = dir === 'pre' ? other.start + other.length : other.start - 1;
        continue;
      }
      if (!kb.transparent.has(tokens[i].norm)) {
        if (budget === 0) break;
        budget--;
      }
      i += step;
    }
  };

  for (const c of cues) {
    if (c.value.type !== 'negation' && c.value.type !== 'uncertainty') continue;
    for (const dir of c.value.directions) walk(c, dir);
  }

  return entitySpans.map((m, k) => {
    const start = tokens[m.start].start;
    const end = tokens[m.start + m.length - 1].end;
    return { entityId: m.value, start, end, text: text.slice(start, end), negated: negated[k], uncertain: uncertain[k] };
  });
}

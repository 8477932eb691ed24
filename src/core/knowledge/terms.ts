// Surface-form normalisation shared by the term index and the linker. A term is a sequence of
// lowercase word tokens; a word is a maximal run of ASCII letters or digits, the same rule as the
// synthetic report writer, so "left-sided", "left sided" and "Left-Sided" are one term.

export interface Token {
  /** Lowercased word. */
  norm: string;
  start: number;
  end: number;
}

const WORD_RE = /[A-Za-z0-9]+/g;

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(WORD_RE)) out.push({ norm: m[0].toLowerCase(), start: m.index, end: m.index + m[0].length });
  return out;
}

/** Lowercase tokens of a phrase, joined by single spaces: the key of a term. */
export function termKey(phrase: string): string {
  return tokenize(phrase).map((t) => t.norm).join(' ');
}

/** Plural forms of one English noun as radiology writes them (thorax -> thoraces, hilum -> hila). */
export function pluralForms(word: string): string[] {
  const out: string[] = [];
  if (/ax$/.test(word)) out.push(word.slice(0, -2) + 'aces', word + 'es');
  else if (/ex$/.test(word)) out.push(word.slice(0, -2) + 'ices', word + 'es');
  else if (/is$/.test(word)) out.push(word.slice(0, -2) + 'es');
  else if (/um$/.test(word)) out.push(word.slice(0, -2) + 'a', word + 's');
  else if (/[^aeiou]us$/.test(word)) out.push(word.slice(0, -2) + 'i', word + 'es');
  else if (/a$/.test(word)) out.push(word + 'e', word + 's');
  else if (/(s|sh|ch|x|z)$/.test(word)) out.push(word + 'es');
  else if (/[^aeiou]y$/.test(word)) out.push(word.slice(0, -1) + 'ies');
  else out.push(word + 's');
  return out.filter((w) => w !== word);
}

/**
 * Every key a phrase is matched under: itself, the hyphen-joined form that de-punctuated corpora
 * write ("left-sided" -> "leftsided"), and, for nouns, the plural of the last word.
 */
export function termVariants(phrase: string, nounPlural: boolean): string[] {
  const keys = new Set<string>();
  const base = termKey(phrase);
  if (!base) return [];
  keys.add(base);
  if (/[A-Za-z0-9]-[A-Za-z0-9]/.test(phrase)) keys.add(termKey(phrase.replace(/([A-Za-z0-9])-(?=[A-Za-z0-9])/g, '$1')));
  if (nounPlural) {
    for (const k of [...keys]) {
      const words = k.split(' ');
      const last = words[words.length - 1];
      // Numbers and one-letter words have no plural ("kerley b").
      if (last.length < 2 || /^\d+$/.test(last)) continue;
      for (const pl of pluralForms(last)) keys.add([...words.slice(0, -1), pl].join(' '));
    }
  }
  return [...keys];
}

/** Phrase table keyed by token sequence; lookups are by position in a token list. */
export class PhraseTable<T> {
  private readonly map = new Map<string, T>();
  private longest = 0;

  /** Adds a key; returns false (and keeps the old value) when the key is taken. */
  add(key: string, value: T): boolean {
    if (!key || this.map.has(key)) return false;
    this.map.set(key, value);
    this.longest = Math.max(this.longest, key.split(' ').length);
    return true;
  }

  get(key: string): T | undefined {
    return this.map.get(key);
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  get size(): number {
    return this.map.size;
  }

  get maxTokens(): number {
    return this.longest;
  }

  /** Every (start, length, value) whose tokens match a key and do not cross a break (break[i]: boundary before token i). */
  matchAll(tokens: readonly Token[], breaks: readonly boolean[]): { start: number; length: number; value: T }[] {
    const out: { start: number; length: number; value: T }[] = [];
    for (let i = 0; i < tokens.length; i++) {
      let key = '';
      for (let n = 1; n <= this.longest && i + n <= tokens.length; n++) {
        if (n > 1 && breaks[i + n - 1]) break;
        key = n === 1 ? tokens[i].norm : `${key} ${tokens[i + n - 1].norm}`;
        const v = this.map.get(key);
        if (v !== undefined) out.push({ start: i, length: n, value: v });
      }
    }
    return out;
  }
}

/** Picks non-overlapping matches, longest first, then leftmost: "left lower lobe" beats "left" + "lower lobe". */
export function longestFirst<M extends { start: number; length: number }>(matches: readonly M[]): M[] {
  const sorted = [...matches].sort((a, b) => b.length - a.length || a.start - b.start);
  const taken: boolean[] = [];
  const out: M[] = [];
  for (const m of sorted) {
    let free = true;
    for (let i = m.start; i < m.start + m.length; i++) if (taken[i]) { free = false; break; }
    if (!free) continue;
    for (let i = m.start; i < m.start + m.length; i++) taken[i] = true;
    out.push(m);
  }
  return out.sort((a, b) => a.start - b.start);
}

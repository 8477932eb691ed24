// Report writer: FINDINGS / IMPRESSION prose from the study's findings, with per-word ground truth.
// Sentences are built from segments that carry a role (finding, location, modifier, negation,
// function) and the finding/location they belong to; words and their exact char offsets are
// derived from the assembled text, so truth and text cannot drift apart.
//
// Word rule: a word is a maximal run of ASCII letters or digits. Hyphens, apostrophes and
// decimal points split words ("left-sided" -> "left", "sided"; "1.2" -> "1", "2").
import type { Rng } from '../../rng';
import type { WordRole, WordTruth } from '../manifest-types';
import type { FindingSpec } from './findings';
import { FINDINGS, type FindingName, type FindingPhrase, LOCATIONS, type LocationName } from './vocabulary';

export interface WordSpan {
  text: string;
  start: number;
  end: number;
}

const WORD_RE = /[A-Za-z0-9]+/g;

/** Splits text into words (the rule above) with char offsets. */
export function splitWords(text: string): WordSpan[] {
  const out: WordSpan[] = [];
  for (const m of text.matchAll(WORD_RE)) out.push({ text: m[0], start: m.index, end: m.index + m[0].length });
  return out;
}

interface Seg {
  text: string;
  role: WordRole;
  finding?: FindingName;
  location?: LocationName;
  negated?: boolean;
}

interface Ctx {
  finding?: FindingName;
  location?: LocationName;
  negated: boolean;
}

type Sentence = Seg[];

const fn = (text: string): Seg => ({ text, role: 'function' });
const seg = (text: string, role: WordRole, c: Ctx): Seg => ({ text, role, finding: c.finding, location: c.location, negated: c.negated });

function article(next: string): string {
  const num = /^\d+/.exec(next)?.[0];
  // By sound: "an 8 mm", "an 11 mm", "a 1.2 cm".
  if (num) return num.startsWith('8') || num === '11' || num === '18' ? 'an' : 'a';
  return /^[aeiou]/i.test(next) ? 'an' : 'a';
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** mild -> mildly, moderate -> moderately, marked -> markedly, severe -> severely. */
function adverb(adj: string): string {
  return adj + 'ly';
}

export interface ReportResult {
  text: string;
  words: WordTruth[];
}

/** Writes the report of a study with these findings (an empty list = a normal study). */
export function writeReport(specs: readonly FindingSpec[], rng: Rng): ReportResult {
  const findings: Sentence[] = [];
  const positives = rng.shuffle([...specs]);
  const present = new Set(positives.map((s) => s.name));
  const cardiacFirst = rng.bool(0.3);
  const cardio = positives.find((s) => s.name === 'cardiomegaly');
  if (cardiacFirst) findings.push(cardio ? cardiomegalySentence(cardio, rng) : normalHeart(rng));
  for (const s of positives) if (s.name !== 'cardiomegaly') findings.push(positiveSentence(s, rng));
  findings.push(...negativeSentences(present, rng));
  if (!cardiacFirst) findings.push(cardio ? cardiomegalySentence(cardio, rng) : normalHeart(rng));
  if (rng.bool(0.4)) findings.push([fn(rng.pick(['the mediastinal contours are unremarkable', 'the osseous structures are intact', 'the visualized upper abdomen is unremarkable'])), fn('.')]);

  const impression: Sentence[] = [];
  if (positives.length === 0) {
    const c: Ctx = { negated: true };
    impression.push(rng.pick<Sentence>([
      [seg('no', 'negation', c), fn('acute cardiopulmonary process'), fn('.')],
      [seg('no', 'negation', c), fn('acute cardiopulmonary abnormality'), fn('.')],
      [seg('normal', 'negation', c), fn('chest radiograph'), fn('.')],
    ]));
  } else {
    const mentions = positives.map((s) => impressionMention(s, rng));
    if (mentions.length >= 2 && rng.bool(0.4)) {
      impression.push([...mentions[0], fn('and'), ...lowerFirst(mentions[1]), fn('.')]);
      mentions.splice(0, 2);
    }
    for (const m of mentions) impression.push([...m, fn('.')]);
    if (!present.has('pneumothorax') && rng.bool(0.3)) impression.push([seg('no', 'negation', negCtx('pneumothorax')), seg('pneumothorax', 'finding', negCtx('pneumothorax')), fn('.')]);
  }
  return assemble([[fn('FINDINGS:')], ...findings.map(sentenceCase), [fn('IMPRESSION:')], ...impression.map(sentenceCase)]);
}

function negCtx(finding: FindingName): Ctx {
  return { finding, negated: true };
}

function lowerFirst(s: Sentence): Sentence {
  if (!s.length) return s;
  const first = s[0];
  // Keep capitalised acronyms (none in our vocabulary) but lowercase ordinary words.
  return [{ ...first, text: first.text.charAt(0).toLowerCase() + first.text.slice(1) }, ...s.slice(1)];
}

function sentenceCase(s: Sentence): Sentence {
  if (!s.length) return s;
  return [{ ...s[0], text: capitalize(s[0].text) }, ...s.slice(1)];
}

/** Joins segments with single spaces (none before punctuation) and derives the word truth. */
function assemble(sentences: readonly Sentence[]): ReportResult {
  let text = '';
  const words: WordTruth[] = [];
  for (const s of sentences) {
    for (const g of s) {
      if (!g.text) continue;
      if (text.length && !/^[.,:;]/.test(g.text)) text += ' ';
      const offset = text.length;
      text += g.text;
      for (const w of splitWords(g.text)) {
        const truth: WordTruth = { text: w.text, role: g.role, start: offset + w.start, end: offset + w.end };
        if (g.finding) truth.finding = g.finding;
        if (g.location) truth.location = g.location;
        if (g.role !== 'function' && g.negated !== undefined) truth.negated = g.negated;
        else if (g.role === 'negation') truth.negated = true;
        words.push(truth);
      }
    }
  }
  return { text, words };
}

function pickSynonym(spec: FindingSpec, rng: Rng, plural: boolean): { text: string; countable: boolean; plural: boolean } {
  const options: readonly FindingPhrase[] = FINDINGS[spec.name].synonyms.filter((p) => !plural || p.plural || !p.countable);
  const p = rng.pick(options);
  if (plural && p.plural) return { text: p.plural, countable: true, plural: true };
  return { text: p.text, countable: p.countable, plural: false };
}

/** Severity / size / descriptor words of a present finding (possibly none). */
function modifiers(spec: FindingSpec, rng: Rng): string[] {
  const v = FINDINGS[spec.name];
  const out: string[] = [];
  if (spec.name === 'nodule' && spec.sizeMm && rng.bool(0.5)) out.push(spec.sizeMm >= 10 && rng.bool(0.4) ? `${(spec.sizeMm / 10).toFixed(1)} cm` : `${spec.sizeMm} mm`);
  else if (rng.bool(0.75)) out.push(rng.pick(v.severity[spec.severity]));
  if (v.descriptors.length && rng.bool(0.2)) {
    const d = rng.pick(v.descriptors);
    if (!out.includes(d)) out.push(d);
  }
  return out;
}

/** "the left base", but "both lung bases" without an article. */
function definite(noun: string, c: Ctx): Sentence {
  return [...(noun.startsWith('both ') ? [] : [fn('the')]), seg(noun, 'location', c)];
}

function prepositional(location: LocationName, rng: Rng, c: Ctx): Sentence {
  const loc = LOCATIONS[location];
  return [fn(loc.preposition), ...definite(rng.pick(loc.noun), c)];
}

interface NounPhrase {
  segs: Sentence;
  plural: boolean;
}

function nounPhrase(spec: FindingSpec, rng: Rng, withLocationAdjective: boolean, plural: boolean, c: Ctx, useArticle: boolean): NounPhrase {
  const mods = modifiers(spec, rng);
  const syn = pickSynonym(spec, rng, plural);
  const loc = LOCATIONS[spec.location];
  const segs: Sentence = [];
  for (const m of mods) segs.push(seg(m, 'modifier', c));
  if (withLocationAdjective) segs.push(seg(rng.pick(loc.adjective), 'location', c));
  segs.push(seg(syn.text, 'finding', c));
  if (useArticle && syn.countable && !syn.plural) segs.unshift(fn(article(segs[0].text)));
  return { segs, plural: syn.plural };
}

function positiveSentence(spec: FindingSpec, rng: Rng): Sentence {
  const c: Ctx = { finding: spec.name, location: spec.location, negated: false };
  const loc = LOCATIONS[spec.location];
  const bilateral = loc.sides.length === 2;
  const ln = (): Sentence => prepositional(spec.location, rng, c);
  const be = (np: NounPhrase) => (np.plural ? 'are' : 'is');
  let s: Sentence;
  switch (rng.int(6)) {
    case 0: {
      const np = nounPhrase(spec, rng, true, bilateral, c, true);
      s = [fn(`there ${be(np)}`), ...np.segs];
      break;
    }
    case 1: s = [...nounPhrase(spec, rng, false, bilateral, c, false).segs, ...ln()]; break;
    case 2: {
      const np = nounPhrase(spec, rng, false, bilateral, c, true);
      s = [...np.segs, fn(`${be(np)} ${rng.pick(['seen', 'noted', 'present'])}`), ...ln()];
      break;
    }
    case 3: s = [...definite(rng.pick(loc.noun), c), fn(rng.pick(bilateral ? ['demonstrate', 'show'] : ['demonstrates', 'shows'])), ...nounPhrase(spec, rng, false, bilateral, c, true).segs]; break;
    case 4: s = [fn('there is evidence of'), ...nounPhrase(spec, rng, false, bilateral, c, true).segs, ...ln()]; break;
    default: {
      const np = nounPhrase(spec, rng, true, bilateral, c, true);
      s = [...np.segs, fn(`${be(np)} present`)];
    }
  }
  if (spec.name === 'pneumothorax' && rng.bool(0.35)) s.push(fn(', with a'), seg('visible pleural line', 'modifier', c));
  if (spec.name === 'edema' && rng.bool(0.3)) s.push(fn(', with'), seg('Kerley B lines', 'modifier', c));
  if (spec.name === 'atelectasis' && /lower|basal|retrocardiac/.test(spec.location) && rng.bool(0.25)) {
    s.push(fn(rng.pick([', with elevation of the', ', with mild elevation of the'])), seg(bilateral ? 'hemidiaphragms' : `${loc.sides[0]} hemidiaphragm`, 'location', c));
  }
  s.push(fn('.'));
  return s;
}

function cardiomegalySentence(spec: FindingSpec, rng: Rng): Sentence {
  const c: Ctx = { finding: 'cardiomegaly', location: 'cardiac', negated: false };
  const adj = rng.pick(FINDINGS.cardiomegaly.severity[spec.severity]);
  const lc = () => seg(rng.pick(LOCATIONS.cardiac.noun), 'location', c);
  switch (rng.int(4)) {
    case 0: return [fn('the'), lc(), fn('is'), seg(adverb(adj), 'modifier', c), seg('enlarged', 'finding', c), fn('.')];
    case 1: return [fn('the'), lc(), fn('is'), seg('enlarged', 'finding', c), fn(', consistent with'), seg(adj, 'modifier', c), seg('cardiomegaly', 'finding', c), fn('.')];
    case 2: return [fn('there is'), seg(adj, 'modifier', c), seg('cardiomegaly', 'finding', c), fn('with'), seg('enlargement', 'finding', c), fn('of the'), lc(), fn('.')];
    default: return [seg(adj, 'modifier', c), seg('enlargement', 'finding', c), fn('of the'), lc(), fn('.')];
  }
}

function normalHeart(rng: Rng): Sentence {
  const c: Ctx = { finding: 'cardiomegaly', location: 'cardiac', negated: true };
  switch (rng.int(4)) {
    case 0: return [fn('the'), seg('cardiac silhouette', 'location', c), fn('is'), seg('normal', 'negation', c), fn('in size'), fn('.')];
    case 1: return [seg('heart', 'location', c), fn('size is'), seg('normal', 'negation', c), fn('.')];
    case 2: return [fn('the'), seg('heart', 'location', c), fn('is'), seg('not', 'negation', c), seg('enlarged', 'finding', c), fn('.')];
    default: return [seg('normal', 'negation', c), seg(rng.pick(['cardiac silhouette', 'heart']), 'location', c), fn('size'), fn('.')];
  }
}

/** Chance that an absent finding is explicitly negated in the report. */
const NEGATE_P: Partial<Record<FindingName, number>> = {
  pneumothorax: 0.8, 'pleural effusion': 0.75, consolidation: 0.6, edema: 0.35, nodule: 0.2, atelectasis: 0.15,
};

function negatedPhrase(name: FindingName, rng: Rng): Sentence {
  const c = negCtx(name);
  const p = rng.pick(FINDINGS[name].negated);
  return [...(p.modifier ? [seg(p.modifier, 'modifier', c)] : []), seg(p.text, 'finding', c)];
}

function negativeSentences(present: ReadonlySet<FindingName>, rng: Rng): Sentence[] {
  const absent = (Object.keys(NEGATE_P) as FindingName[]).filter((n) => !present.has(n) && rng.bool(NEGATE_P[n] ?? 0));
  rng.shuffle(absent);
  const out: Sentence[] = [];
  const lungFindings: FindingName[] = ['consolidation', 'nodule', 'edema', 'atelectasis'];
  const lungsClear = !lungFindings.some((f) => present.has(f));
  if (lungsClear && rng.bool(0.5)) {
    const lungNeg = absent.find((n) => lungFindings.includes(n));
    if (lungNeg) {
      absent.splice(absent.indexOf(lungNeg), 1);
      out.push([fn('the lungs are clear'), seg('without', 'negation', negCtx(lungNeg)), fn('evidence of'), ...negatedPhrase(lungNeg, rng), fn('.')]);
    } else {
      out.push([fn('the lungs are clear'), fn('.')]);
    }
  }
  while (absent.length) {
    const group = absent.splice(0, Math.min(absent.length, 1 + rng.int(3)));
    const neg = seg(rng.pick(['no', 'no', 'there is no', 'no evidence of']), 'negation', negCtx(group[0]));
    if (group.length === 1 && rng.bool(0.2)) {
      out.push([...negatedPhrase(group[0], rng), fn('is'), seg('not', 'negation', negCtx(group[0])), fn(rng.pick(['seen', 'identified'])), fn('.')]);
      continue;
    }
    const s: Sentence = [];
    group.forEach((name, i) => {
      if (i === 0) {
        // "there is no" / "no evidence of": only the negation word itself is a negation word.
        const words = neg.text.split(' ');
        for (const w of words) s.push(w === 'no' ? seg('no', 'negation', negCtx(name)) : fn(w));
      } else {
        s.push(fn(i === group.length - 1 ? 'or' : ','));
      }
      s.push(...negatedPhrase(name, rng));
    });
    s.push(fn('.'));
    out.push(s);
  }
  return out;
}

function impressionMention(spec: FindingSpec, rng: Rng): Sentence {
  const c: Ctx = { finding: spec.name, location: spec.location, negated: false };
  if (spec.name === 'cardiomegaly') {
    const adj = rng.pick(FINDINGS.cardiomegaly.severity[spec.severity]);
    return rng.bool(0.5)
      ? [seg(adverb(adj), 'modifier', c), seg('enlarged', 'finding', c), seg(rng.pick(LOCATIONS.cardiac.noun), 'location', c)]
      : [seg('enlarged', 'finding', c), seg(rng.pick(LOCATIONS.cardiac.noun), 'location', c), fn(', in keeping with'), seg(adj, 'modifier', c), seg('cardiomegaly', 'finding', c)];
  }
  const loc = LOCATIONS[spec.location];
  const plural = loc.sides.length === 2;
  if (rng.bool(0.7)) return nounPhrase(spec, rng, true, plural, c, false).segs;
  return [...nounPhrase(spec, rng, false, plural, c, false).segs, ...prepositional(spec.location, rng, c)];
}

// The synthetic benchmark's vocabulary must be fully covered by the knowledge base: every finding
// synonym, severity/descriptor word and location phrase the generator can write links to entities
// of the right kind, and on generated reports the linker's negation agrees with the ground truth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultKnowledgeBase } from '../../../src/core/knowledge/kb';
import { linkEntities } from '../../../src/core/knowledge/linker';
import { tokenize } from '../../../src/core/knowledge/terms';
import { FINDINGS, LOCATIONS, NEGATION_WORDS, synthVocabulary } from '../../../src/core/data/synth/vocabulary';
import { sampleFindings } from '../../../src/core/data/synth/findings';
import { writeReport } from '../../../src/core/data/synth/report';
import { Rng, mixSeed } from '../../../src/core/rng';

const kb = defaultKnowledgeBase();
const vocab = synthVocabulary();

/** Asserts every word of `phrase` lies inside a mention whose entity has one of `kinds`; returns the mentions. */
function covered(phrase: string, kinds: readonly string[]) {
  const ms = linkEntities(phrase, kb);
  for (const t of tokenize(phrase)) {
    const m = ms.find((x) => x.start <= t.start && t.end <= x.end);
    assert.ok(m, `"${t.norm}" of "${phrase}" is not linked`);
    assert.ok(kinds.includes(kb.require(m.entityId).kind), `"${phrase}": "${m.text}" -> ${m.entityId} (${kb.require(m.entityId).kind}), want ${kinds.join('/')}`);
  }
  assert.ok(ms.every((m) => !m.negated && !m.uncertain), `"${phrase}" has no cue`);
  return ms;
}

/** The KB entity for a synthetic finding name, and whether another entity is the same concept, broader or narrower. */
function related(findingName: string, entityId: string): boolean {
  const canonical = kb.lookup(findingName);
  assert.ok(canonical, `synthetic finding "${findingName}" is not a KB term`);
  return kb.isA(entityId, canonical.id) || kb.isA(canonical.id, entityId) ||
    kb.require(entityId).category === canonical.category;
}

test('every synthetic finding name and synonym links to a related finding entity', () => {
  assert.ok(vocab.findings.length >= 7);
  for (const f of vocab.findings) {
    assert.equal(kb.lookup(f.name)?.kind, 'finding', f.name);
    for (const syn of [f.name, ...f.synonyms]) {
      const ms = covered(syn, ['finding', 'modifier', 'location']);
      const head = ms.filter((m) => kb.require(m.entityId).kind === 'finding');
      assert.ok(head.length >= 1, `"${syn}" has no finding mention`);
      assert.ok(head.some((m) => related(f.name, m.entityId)), `"${syn}" -> ${head.map((m) => m.entityId).join(', ')} is unrelated to "${f.name}"`);
    }
    // Plurals the writer uses for bilateral findings.
    for (const p of FINDINGS[f.name].synonyms) if (p.plural) covered(p.plural, ['finding', 'modifier', 'location']);
  }
});

test('every synthetic severity, descriptor and negated-phrase modifier links to a modifier', () => {
  for (const name of Object.keys(FINDINGS) as (keyof typeof FINDINGS)[]) {
    const f = FINDINGS[name];
    const words = [...Object.values(f.severity).flat(), ...f.descriptors, ...f.negated.flatMap((n) => (n.modifier ? [n.modifier] : []))];
    for (const w of words) covered(w, ['modifier']);
    for (const n of f.negated) covered(n.text, ['finding', 'modifier', 'location']);
  }
});

test('every synthetic location phrase links to location entities compatible with its findings', () => {
  assert.ok(vocab.locations.length >= 10);
  for (const loc of vocab.locations) {
    for (const phrase of [loc.name, ...loc.phrases]) covered(phrase, ['location']);
  }
  // The generator places each finding only where the KB says it can be.
  for (const f of vocab.findings) {
    const finding = kb.lookup(f.name)!;
    for (const locName of f.locations) {
      for (const phrase of [...LOCATIONS[locName].adjective, ...LOCATIONS[locName].noun]) {
        const ids = linkEntities(phrase, kb).map((m) => m.entityId);
        const anatomical = ids.filter((id) => kb.require(id).category !== 'laterality');
        assert.ok(anatomical.every((id) => kb.isCompatible(finding.id, id)) && ids.some((id) => kb.isCompatible(finding.id, id)),
          `${f.name} at "${phrase}" (${ids.join(', ')}) is not compatible in the KB`);
      }
    }
  }
});

test('the synthetic negation words are negation cues', () => {
  for (const w of NEGATION_WORDS) {
    const cue = kb.cueTable.get(w) ?? kb.cueTable.get(`${w} for`) ?? kb.cueTable.get(`${w} of`);
    assert.ok(cue && cue.type === 'negation', `"${w}" is not a negation cue`);
  }
});

test('generated reports: every finding/location word is linked and finding negation matches the truth', () => {
  let findingWords = 0;
  for (let i = 0; i < 300; i++) {
    const specs = sampleFindings(new Rng(mixSeed(11, i)));
    for (const s of specs) if (s.name === 'nodule') s.sizeMm = 6 + (i % 20);
    const r = writeReport(specs, new Rng(mixSeed(12, i)));
    const ms = linkEntities(r.text, kb);
    for (const w of r.words) {
      if (w.role !== 'finding' && w.role !== 'location' && w.role !== 'modifier') continue;
      // Measurements ("8 mm", "1.2 cm") are numbers, not knowledge.
      if (/^\d+$/.test(w.text) || w.text === 'mm' || w.text === 'cm') continue;
      const m = ms.find((x) => x.start <= w.start! && w.end! <= x.end);
      assert.ok(m, `"${w.text}" (${w.role}) not linked in: ${r.text}`);
      if (w.role === 'finding') {
        findingWords++;
        assert.equal(m.negated, w.negated ?? false, `"${w.text}" negation in: ${r.text}`);
        assert.equal(m.uncertain, false);
        assert.ok(related(w.finding!, m.entityId), `"${w.text}" -> ${m.entityId}, truth ${w.finding}`);
      }
    }
  }
  assert.ok(findingWords > 500, `${findingWords} finding words checked`);
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import bundled from '../../../src/core/knowledge/kb.json';
import { validateKnowledgeBase } from '../../../src/core/knowledge/schema';
import { DataError } from '../../../src/core/errors';

/** A tiny valid KB that each test breaks in one way. */
function tiny() {
  return {
    version: '1.2.3',
    categories: [
      { id: 'fluid', kind: 'finding', description: 'fluid' },
      { id: 'lung-region', kind: 'location', description: 'lung' },
      { id: 'laterality', kind: 'location', description: 'side' },
    ],
    cues: { negation: { pre: ['no'], post: ['resolved'], pseudo: [] }, uncertainty: { pre: ['possible'], post: [] }, terminators: ['but'] },
    entities: [
      { id: 'lung', name: 'lung', kind: 'location', category: 'lung-region', synonyms: [], parents: [] },
      { id: 'lung-base', name: 'lung base', kind: 'location', category: 'lung-region', synonyms: ['base'], parents: ['lung'] },
      { id: 'left', name: 'left', kind: 'location', category: 'laterality', synonyms: [], parents: [], laterality: 'left' },
      { id: 'effusion', name: 'pleural effusion', kind: 'finding', category: 'fluid', synonyms: ['effusion'], parents: [], locations: ['lung-base'] },
      { id: 'hemothorax', name: 'hemothorax', kind: 'finding', category: 'fluid', synonyms: [], parents: ['effusion'] },
    ],
  };
}

function rejects(raw: unknown, ...fragments: string[]) {
  assert.throws(() => validateKnowledgeBase(raw, 'my-kb.json'), (e: unknown) => {
    assert.ok(e instanceof DataError, 'a DataError (user mistake), not a crash');
    assert.match(e.message, /^my-kb\.json: /);
    for (const f of fragments) assert.ok(e.message.includes(f), `message should mention ${JSON.stringify(f)}:\n${e.message}`);
    return true;
  });
}

test('the bundled knowledge base validates, with a semantic version', () => {
  const kb = validateKnowledgeBase(bundled, 'kb.json');
  assert.match(kb.version, /^\d+\.\d+\.\d+$/);
  assert.ok(kb.entities.length >= 60, `${kb.entities.length} entities`);
});

test('a minimal valid KB passes and keeps optional fields', () => {
  const kb = validateKnowledgeBase(tiny());
  assert.equal(kb.entities.length, 5);
  assert.equal(kb.entities[2].laterality, 'left');
  assert.deepEqual(kb.entities[3].locations, ['lung-base']);
  assert.deepEqual(kb.entities[3].abbreviations, []);
});

test('duplicate ids are rejected', () => {
  const raw = tiny();
  raw.entities.push({ ...raw.entities[0] });
  rejects(raw, 'entity "lung"', 'duplicate id');
});

test('unknown parents, parents of another kind and cycles are rejected', () => {
  const a = tiny();
  a.entities[4].parents = ['blood'];
  rejects(a, 'entity "hemothorax"', 'field "parents"', 'unknown entity "blood"');
  const b = tiny();
  b.entities[4].parents = ['lung'];
  rejects(b, 'entity "hemothorax"', '"lung" is a location, not a finding');
  const c = tiny();
  c.entities[3].parents = ['hemothorax'];
  rejects(c, 'cycle', 'effusion -> hemothorax -> effusion');
});

test('unknown categories and categories of another kind are rejected', () => {
  const a = tiny();
  a.entities[3].category = 'liquid';
  rejects(a, 'entity "effusion"', 'field "category"', 'unknown category "liquid"');
  const b = tiny();
  b.entities[3].category = 'lung-region';
  rejects(b, 'category "lung-region" is for location entities, not finding');
});

test('compatible locations must be known locations, and findings need some', () => {
  const a = tiny();
  a.entities[3].locations = ['lung-apex'];
  rejects(a, 'entity "effusion"', 'field "locations"', 'unknown location "lung-apex"');
  const b = tiny();
  b.entities[3].locations = ['hemothorax'];
  rejects(b, '"hemothorax" is a finding, not a location');
  const c = tiny();
  delete (c.entities[3] as { locations?: string[] }).locations;
  rejects(c, 'entity "effusion"', 'needs compatible locations', 'entity "hemothorax"');
});

test('malformed fields name the entity and the field; all problems are listed at once', () => {
  const raw = tiny() as unknown as { version: string; entities: Record<string, unknown>[] };
  raw.version = 'v1';
  raw.entities[0].kind = 'organ';
  raw.entities[1].synonyms = 'base';
  raw.entities[2].id = 'Left Side';
  raw.entities[3].chexpert = 'Effusion';
  rejects(raw, 'problems):', 'field "version"', 'entity "lung": field "kind"', 'entity "lung-base": field "synonyms"',
    'lowercase kebab-case', 'CheXpert observation, got "Effusion"');
  rejects(42, 'must be a JSON object');
  rejects({ version: '1.0.0', categories: [], cues: {}, entities: {} }, 'field "entities" must be a list', 'field "negation"');
});

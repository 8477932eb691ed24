import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  buildSynthPrompts, GLORIA_CHEXPERT_PROMPT_COUNTS, gloriaChexpertPrompts, loadPromptFile, samplePrompts, synthBenchmarkPrompts,
} from '../../../src/core/eval/prompts';
import { FINDINGS, FINDING_NAMES } from '../../../src/core/data/synth/vocabulary';
import { DataError } from '../../../src/core/errors';

test('GLoRIA CheXpert prompts: exact counts per class', () => {
  const p = gloriaChexpertPrompts();
  // 3x7x10, 1x15x1, 4x6x8, 6x3x1, 6x3x3
  assert.deepEqual(Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.length])), {
    Atelectasis: 210, Cardiomegaly: 15, Consolidation: 192, Edema: 18, 'Pleural Effusion': 54,
  });
  assert.deepEqual(GLORIA_CHEXPERT_PROMPT_COUNTS, { Atelectasis: 210, Cardiomegaly: 15, Consolidation: 192, Edema: 18, 'Pleural Effusion': 54 });
  assert.equal(p.Atelectasis[0], 'subsegmental atelectasis at the mid lung zone');
  assert.equal(p.Edema[0], 'pulmonary edema');
  // effusion follows GLoRIA's key order: severity, location, subtype
  assert.ok(p['Pleural Effusion'].includes('small left bilateral pleural effusion'));
  for (const list of Object.values(p)) {
    for (const s of list) assert.match(s, /^\S(.*\S)?$/, `untrimmed: "${s}"`);
    for (const s of list) assert.ok(!s.includes('  '), `double space: "${s}"`);
  }
  // GLoRIA's duplicated effusion subtype: 54 prompts, 36 distinct
  assert.equal(new Set(p['Pleural Effusion']).size, 36);
});

test('samplePrompts is seeded, keeps order and caps per class', () => {
  const p = gloriaChexpertPrompts();
  const a = samplePrompts(p, 5, 11);
  assert.deepEqual(a, samplePrompts(p, 5, 11));
  for (const [cls, list] of Object.entries(a)) {
    assert.equal(list.length, 5);
    const idx = list.map((s) => p[cls].indexOf(s));
    assert.deepEqual(idx, [...idx].sort((x, y) => x - y));
  }
  assert.equal(samplePrompts({ x: ['a', 'b'] }, 5, 1).x.length, 2);
});

test('buildSynthPrompts templates', () => {
  const p = buildSynthPrompts([{
    label: 'Pleural Effusion', synonyms: ['effusion'], severity: ['small'], locationAdjectives: ['left'],
    locationNouns: [{ preposition: 'at', noun: 'left base' }, { preposition: 'at', noun: 'both bases' }],
  }, { label: 'Edema', synonyms: ['edema'], severity: ['mild'], locationAdjectives: [], locationNouns: [] }]);
  assert.deepEqual(p['Pleural Effusion'], [
    'left effusion', 'effusion at the left base', 'effusion at both bases',
    'small left effusion', 'small effusion at the left base', 'small effusion at both bases',
  ]);
  assert.deepEqual(p.Edema, ['edema', 'mild edema']);
});

test('synthetic benchmark prompts use the generator vocabulary', () => {
  const p = synthBenchmarkPrompts();
  assert.deepEqual(Object.keys(p), FINDING_NAMES.map((f) => FINDINGS[f].label));
  for (const f of FINDING_NAMES) {
    const list = p[FINDINGS[f].label];
    assert.ok(list.length > 0);
    assert.equal(new Set(list).size, list.length);
    for (const s of list) assert.ok(FINDINGS[f].synonyms.some((syn) => s.includes(syn.text)), s);
  }
});

test('loadPromptFile reads {class: [prompts]} and names the bad field', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-prompts-'));
  const write = (name: string, text: string): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };
  assert.deepEqual(loadPromptFile(write('ok.json', '{"Edema": [" pulmonary edema ", "edema"], "Nodule": ["nodule"]}')),
    { Edema: ['pulmonary edema', 'edema'], Nodule: ['nodule'] });
  const bad = (name: string, text: string, re: RegExp): void => {
    const f = write(name, text);
    assert.throws(() => loadPromptFile(f), (e: unknown) => e instanceof DataError && re.test(e.message) && e.message.includes(f));
  };
  bad('broken.json', '{"Edema": [', /not valid JSON/);
  bad('array.json', '["edema"]', /expected a JSON object/);
  bad('empty.json', '{}', /no classes/);
  bad('emptylist.json', '{"Edema": []}', /class "Edema" must map to a non-empty array/);
  bad('nonstring.json', '{"Edema": ["edema", 3]}', /class "Edema" prompt 1 must be a non-empty string/);
  assert.throws(() => loadPromptFile(path.join(dir, 'missing.json')), (e: unknown) => e instanceof DataError && /cannot read/.test(e.message));
  fs.rmSync(dir, { recursive: true, force: true });
});

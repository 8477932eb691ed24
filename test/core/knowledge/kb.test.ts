import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import bundled from '../../../src/core/knowledge/kb.json';
import { buildKnowledgeBase, defaultKnowledgeBase, loadKnowledgeBase } from '../../../src/core/knowledge/kb';
import { CHEXPERT_OBSERVATIONS } from '../../../src/core/knowledge/schema';
import { pluralForms, termVariants } from '../../../src/core/knowledge/terms';
import { DataError } from '../../../src/core/errors';

const kb = defaultKnowledgeBase();

test('bundled KB: size, kinds and every category populated', () => {
  assert.ok(kb.size >= 60 && kb.size <= 200, `${kb.size} entities`);
  for (const kind of ['finding', 'location', 'modifier', 'device'] as const) assert.ok(kb.byKind(kind).length >= 5, kind);
  for (const c of kb.categories) assert.ok(kb.categoryMembers(c.id).length > 0, `category ${c.id} has no members`);
  assert.equal(defaultKnowledgeBase(), kb, 'cached');
  assert.equal(kb.indexOf(kb.entities[7].id), 7);
  assert.equal(kb.indexOf('no-such-thing'), -1);
});

test('the findings the brief names are present with the right category', () => {
  const expect: Record<string, string> = {
    consolidation: 'opacity-type', opacity: 'opacity-type', infiltrate: 'opacity-type', nodule: 'lesion', mass: 'lesion',
    'pleural effusion': 'fluid', pneumothorax: 'air', cardiomegaly: 'cardiac-size', atelectasis: 'volume-loss',
    edema: 'fluid', pneumonia: 'infection', fracture: 'osseous', emphysema: 'obstructive', fibrosis: 'interstitial',
    'hilar enlargement': 'mediastinal', 'widened mediastinum': 'mediastinal', 'pleural thickening': 'pleural',
    'endotracheal tube': 'device', 'central line': 'device', pacemaker: 'device', 'NG tube': 'device', 'chest tube': 'device',
  };
  for (const [term, category] of Object.entries(expect)) {
    const e = kb.lookup(term);
    assert.ok(e, `"${term}" is not in the KB`);
    assert.equal(e.category, category, term);
  }
  for (const term of ['left', 'right', 'bilateral', 'upper zone', 'middle zone', 'lower zone', 'apical', 'basal', 'perihilar',
    'retrocardiac', 'costophrenic angle', 'hemidiaphragm', 'mediastinum', 'hilum', 'lung', 'heart']) {
    assert.equal(kb.lookup(term)?.kind, 'location', term);
  }
  for (const term of ['small', 'moderate', 'large', 'mild', 'severe', 'possible']) assert.equal(kb.lookup(term)?.kind, 'modifier', term);
});

test('lookup: synonyms, abbreviations, plurals and hyphens, case-insensitive', () => {
  assert.equal(kb.lookup('PTX')?.id, 'pneumothorax');
  assert.equal(kb.lookup('ptx')?.id, 'pneumothorax');
  assert.equal(kb.lookup('Pneumothoraces')?.id, 'pneumothorax');
  assert.equal(kb.lookup('effusions')?.id, 'pleural-effusion');
  assert.equal(kb.lookup('pleural fluid')?.id, 'pleural-effusion');
  assert.equal(kb.lookup('ETT')?.id, 'endotracheal-tube');
  assert.equal(kb.lookup('hila')?.id, 'hilum');
  assert.equal(kb.lookup('apices')?.id, 'apex');
  assert.equal(kb.lookup('lung bases')?.id, 'lung-base');
  assert.equal(kb.lookup('left-sided')?.id, 'left');
  assert.equal(kb.lookup('left sided')?.id, 'left');
  assert.equal(kb.lookup('leftsided')?.id, 'left');
  assert.equal(kb.lookup('RLL')?.id, 'right-lower-lobe');
  assert.equal(kb.lookup('bullae')?.id, 'bulla');
  assert.equal(kb.lookup('the'), undefined);
  assert.equal(kb.lookup(''), undefined);
});

test('CHF is heart failure, not edema; COPD is not emphysema; pneumonia is not an opacity', () => {
  assert.equal(kb.lookup('CHF')?.id, 'heart-failure');
  assert.ok(!kb.isA('heart-failure', 'edema'));
  assert.equal(kb.lookup('COPD')?.id, 'copd');
  assert.ok(!kb.isA('copd', 'emphysema'));
  assert.ok(!kb.isA('pneumonia', 'opacity'));
});

test('hierarchy: parents, children, ancestors, descendants', () => {
  assert.ok(kb.isA('consolidation', 'opacity'), 'consolidation is-a opacity');
  assert.ok(kb.isA('consolidation', 'consolidation'), 'reflexive');
  assert.ok(!kb.isA('opacity', 'consolidation'));
  assert.ok(kb.isA('tension-pneumothorax', 'pleural-abnormality'));
  assert.ok(kb.isA('picc', 'support-device'));
  assert.ok(kb.isA('lingula', 'lung'), 'part-of for locations');
  assert.ok(kb.children('pneumothorax').some((e) => e.id === 'tension-pneumothorax'));
  assert.deepEqual([...kb.ancestors('consolidation')].sort(), ['airspace-opacity', 'opacity']);
  assert.ok(kb.descendants('opacity').includes('consolidation'));
  assert.ok(kb.descendants('central-venous-catheter').includes('picc'));
  assert.throws(() => kb.require('no-such-thing'), DataError);
});

test('finding-location compatibility follows part-of and inherits from parents', () => {
  assert.ok(kb.isCompatible('pneumothorax', 'apex'));
  assert.ok(kb.isCompatible('pneumothorax', 'biapical'), 'biapical is part of apex');
  assert.ok(!kb.isCompatible('pneumothorax', 'heart'));
  assert.ok(kb.isCompatible('cardiomegaly', 'cardiac-silhouette'));
  assert.ok(!kb.isCompatible('cardiomegaly', 'lung-base'));
  assert.ok(kb.isCompatible('consolidation', 'right-middle-lobe'));
  assert.ok(kb.isCompatible('pleural-effusion', 'costophrenic-angle'));
  assert.ok(kb.isCompatible('pleural-effusion', 'left'), 'laterality always compatible');
  assert.ok(kb.isCompatible('tension-pneumothorax', 'hemithorax'), 'inherited from pneumothorax');
  assert.deepEqual(kb.compatibleLocations('picc'), kb.compatibleLocations('central-venous-catheter'));
  assert.ok(kb.isCompatible('endotracheal-tube', 'carina'));
  assert.ok(!kb.isCompatible('endotracheal-tube', 'stomach'));
  assert.ok(kb.isCompatible('nasogastric-tube', 'stomach'));
  assert.ok(!kb.isCompatible('pneumothorax', 'pneumonia'), 'a finding is not a location');
});

test('CheXpert mapping covers the 13 positive observations exactly once', () => {
  const mapped = kb.entities.filter((e) => e.chexpert).map((e) => e.chexpert!);
  assert.deepEqual([...mapped].sort(), CHEXPERT_OBSERVATIONS.filter((o) => o !== 'No Finding').sort());
});

test('plural and hyphen variants', () => {
  assert.deepEqual(pluralForms('thorax'), ['thoraces', 'thoraxes']);
  assert.deepEqual(pluralForms('hilum'), ['hila', 'hilums']);
  assert.deepEqual(pluralForms('atelectasis'), ['atelectases']);
  assert.deepEqual(pluralForms('opacity'), ['opacities']);
  assert.deepEqual(pluralForms('mass'), ['masses']);
  assert.deepEqual(termVariants('Plate-like', false).sort(), ['plate like', 'platelike']);
  assert.ok(termVariants('chest tube', true).includes('chest tubes'));
  assert.ok(!termVariants('kerley b', true).includes('kerley bs'));
});

test('a synonym naming two entities is rejected; load errors are DataErrors naming the file', () => {
  const raw = structuredClone(bundled) as { entities: { id: string; synonyms: string[] }[] };
  raw.entities.find((e) => e.id === 'edema')!.synonyms.push('CHF');
  assert.throws(() => buildKnowledgeBase(raw, 'ext.json'), (e: unknown) => e instanceof DataError && /ext\.json.*"CHF" is a term of both/s.test(e.message));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-kb-'));
  try {
    const bad = path.join(dir, 'kb.json');
    fs.writeFileSync(bad, '{"version": ');
    assert.throws(() => loadKnowledgeBase(bad), (e: unknown) => e instanceof DataError && e.message.startsWith(`${bad}: not valid JSON`));
    assert.throws(() => loadKnowledgeBase(path.join(dir, 'missing.json')), (e: unknown) => e instanceof DataError && /cannot read/.test(e.message));
    const good = path.join(dir, 'ext.json');
    const ext = structuredClone(bundled) as { version: string; entities: unknown[] };
    ext.version = '1.1.0';
    ext.entities.push({ id: 'pneumatocele', name: 'pneumatocele', kind: 'finding', category: 'air', synonyms: [], parents: [], locations: ['lung'] });
    fs.writeFileSync(good, JSON.stringify(ext));
    const loaded = loadKnowledgeBase(good);
    assert.equal(loaded.version, '1.1.0');
    assert.equal(loaded.lookup('pneumatoceles')?.id, 'pneumatocele');
    assert.equal(loaded.indexOf('pneumatocele'), kb.size, 'appended entities keep existing rows');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

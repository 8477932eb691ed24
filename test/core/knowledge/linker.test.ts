import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultKnowledgeBase } from '../../../src/core/knowledge/kb';
import { type EntityMention, linkEntities, sentenceBreaks } from '../../../src/core/knowledge/linker';
import { tokenize } from '../../../src/core/knowledge/terms';

const kb = defaultKnowledgeBase();

/** Compact form: "text=id" plus " NEG" / " UNC". */
function show(ms: readonly EntityMention[]): string[] {
  return ms.map((m) => `${m.text}=${m.entityId}${m.negated ? ' NEG' : ''}${m.uncertain ? ' UNC' : ''}`);
}
const link = (text: string) => show(linkEntities(text, kb));

test('offsets index the original text, casing kept', () => {
  const text = 'FINDINGS: Small Left-Sided  pleural\neffusion.';
  const ms = linkEntities(text, kb);
  for (const m of ms) assert.equal(text.slice(m.start, m.end), m.text);
  assert.deepEqual(ms.map((m) => [m.entityId, m.start, m.end]), [
    ['small', 10, 15], ['left', 16, 26], ['pleural-effusion', 28, 44],
  ]);
  assert.deepEqual(linkEntities('', kb), []);
  assert.deepEqual(linkEntities('... ,,, !!', kb), []);
});

test('longest match first over multi-word and overlapping synonyms', () => {
  assert.deepEqual(link('Right lower lobe consolidation.'), ['Right lower lobe=right-lower-lobe', 'consolidation=consolidation']);
  assert.deepEqual(link('right upper zone opacity'), ['right=right', 'upper zone=upper-zone', 'opacity=opacity']);
  assert.deepEqual(link('chest tube in the left hemithorax'), ['chest tube=chest-tube', 'left=left', 'hemithorax=hemithorax']);
  assert.deepEqual(link('enlarged cardiac silhouette'), ['enlarged cardiac silhouette=cardiomegaly']);
  assert.deepEqual(link('the cardiac silhouette is enlarged'), ['cardiac silhouette=cardiac-silhouette', 'enlarged=enlargement']);
  assert.deepEqual(link('subcutaneous emphysema and emphysema'), ['subcutaneous emphysema=subcutaneous-emphysema', 'emphysema=emphysema']);
  assert.deepEqual(link('interstitial pulmonary edema'), ['interstitial pulmonary edema=interstitial-edema']);
  assert.deepEqual(link('pericardial effusion, pleural effusion, effusion'), [
    'pericardial effusion=pericardial-effusion', 'pleural effusion=pleural-effusion', 'effusion=pleural-effusion']);
  // "increased in size" is one term, so its "is"-like words never split it.
  assert.deepEqual(link('hila increased in size'), ['hila=hilum', 'increased in size=enlargement']);
});

test('abbreviations, plurals and hyphen variants', () => {
  assert.deepEqual(link('ETT and NG tube in place. Right PICC. No PTX.'), [
    'ETT=endotracheal-tube', 'NG tube=nasogastric-tube', 'Right=right', 'PICC=picc', 'PTX=pneumothorax NEG']);
  assert.deepEqual(link('bilateral pleural effusions and pneumothoraces'), [
    'bilateral=bilateral', 'pleural effusions=pleural-effusion', 'pneumothoraces=pneumothorax']);
  assert.deepEqual(link('rightsided effusion, right sided effusion, right-sided effusion').filter((s) => s.startsWith('right')), [
    'rightsided=right', 'right sided=right', 'right-sided=right']);
  assert.deepEqual(link('ground-glass opacities'), ['ground-glass opacities=ground-glass-opacity']);
  assert.deepEqual(link('CHF'), ['CHF=heart-failure']);
});

test('negation scope: lists, sentence ends, terminators, budget', () => {
  assert.deepEqual(link('No pneumothorax, pleural effusion or focal consolidation.'), [
    'pneumothorax=pneumothorax NEG', 'pleural effusion=pleural-effusion NEG', 'focal=focal NEG', 'consolidation=consolidation NEG']);
  assert.deepEqual(link('No pneumothorax. Small left effusion.'), ['pneumothorax=pneumothorax NEG', 'Small=small', 'left=left', 'effusion=pleural-effusion']);
  assert.deepEqual(link('No pneumothorax; small left effusion'), ['pneumothorax=pneumothorax NEG', 'small=small', 'left=left', 'effusion=pleural-effusion']);
  assert.deepEqual(link('no pneumothorax but a small left effusion'), ['pneumothorax=pneumothorax NEG', 'small=small', 'left=left', 'effusion=pleural-effusion']);
  assert.deepEqual(link('no pneumothorax, however there is a left effusion'), ['pneumothorax=pneumothorax NEG', 'left=left', 'effusion=pleural-effusion']);
  assert.deepEqual(link('There is no pleural effusion and the heart is enlarged'), [
    'pleural effusion=pleural-effusion NEG', 'heart=heart', 'enlarged=enlargement']);
  // Five ordinary words use up the budget; the sixth ends the scope.
  assert.deepEqual(link('without any convincing radiographic change of note to suggest recurrent pneumothorax'), ['convincing=definite NEG', 'pneumothorax=pneumothorax']);
  assert.deepEqual(linkEntities('no a b c d e f g pneumothorax', kb, { maxScopeTokens: 8 }).map((m) => m.negated), [true]);
  assert.deepEqual(linkEntities('no a b c d e f g pneumothorax', kb, { maxScopeTokens: 2 }).map((m) => m.negated), [false]);
});

test('negation cues: pre, post, multi-word, pseudo', () => {
  assert.deepEqual(link('Lungs are free of focal consolidation'), ['Lungs=lung', 'focal=focal NEG', 'consolidation=consolidation NEG']);
  assert.deepEqual(link('negative for pneumothorax'), ['pneumothorax=pneumothorax NEG']);
  assert.deepEqual(link('without evidence of edema'), ['edema=edema NEG']);
  assert.deepEqual(link('Pneumothorax is not seen.'), ['Pneumothorax=pneumothorax NEG']);
  assert.deepEqual(link('The left pleural effusion has resolved.'), ['left=left NEG', 'pleural effusion=pleural-effusion NEG']);
  assert.deepEqual(link('Interval resolution of the right upper lobe pneumonia.'), ['right upper lobe=right-upper-lobe NEG', 'pneumonia=pneumonia NEG']);
  assert.deepEqual(link('The heart is not enlarged.'), ['heart=heart', 'enlarged=enlargement NEG']);
  // Pseudo-negations say nothing is absent.
  assert.deepEqual(link('No change in the small right pleural effusion.'), ['small=small', 'right=right', 'pleural effusion=pleural-effusion']);
  assert.deepEqual(link('no interval change in cardiomegaly'), ['cardiomegaly=cardiomegaly']);
  assert.deepEqual(link('patchy opacity within normal right lower lobe'), ['patchy=patchy', 'opacity=opacity', 'right lower lobe=right-lower-lobe']);
});

test('uncertainty: pre and post cues, versus, and not confused with negation', () => {
  assert.deepEqual(link('Possible right lower lobe pneumonia.'), ['Possible=possible', 'right lower lobe=right-lower-lobe UNC', 'pneumonia=pneumonia UNC']);
  assert.deepEqual(link('Opacity may represent atelectasis.'), ['Opacity=opacity', 'atelectasis=atelectasis UNC']);
  assert.deepEqual(link('cannot exclude pneumonia'), ['pneumonia=pneumonia UNC']);
  assert.deepEqual(link('a small pneumothorax cannot be excluded'), ['small=small UNC', 'pneumothorax=pneumothorax UNC']);
  assert.deepEqual(link('pneumonia is not excluded'), ['pneumonia=pneumonia UNC']);
  assert.deepEqual(link('atelectasis versus consolidation'), ['atelectasis=atelectasis UNC', 'consolidation=consolidation UNC']);
  assert.deepEqual(link('possible small effusion. No pneumothorax.'), ['possible=possible', 'small=small UNC', 'effusion=pleural-effusion UNC', 'pneumothorax=pneumothorax NEG']);
  assert.deepEqual(link('findings suspicious for pneumonia'), ['suspicious=suspicious', 'pneumonia=pneumonia UNC']);
});

test('sentence breaks: punctuation and blank lines, not decimals or line wraps', () => {
  const text = 'A 1.2 cm nodule\nin the right lung. No effusion:\n\nnone';
  const b = sentenceBreaks(text, tokenize(text));
  assert.deepEqual(tokenize(text).filter((_, i) => b[i]).map((t) => t.norm), ['no', 'none']);
  assert.deepEqual(link('No nodule\nin the right lung'), ['nodule=nodule NEG', 'right=right NEG', 'lung=lung NEG']);
  assert.deepEqual(link('No effusion.\n\nRight lung nodule'), ['effusion=pleural-effusion NEG', 'Right=right', 'lung nodule=nodule']);
});

// Real wording: IU X-ray reports (lower-cased, punctuation stripped, "xxxx" de-identification).
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const iuFile = path.resolve(repoRoot, '..', 'shared', 'data', 'real-cxr', 'iu-xray', 'data_entry.json');
const haveIu = fs.existsSync(iuFile);

/** Hand-checked: study id, sentence (must occur in that study), expected mentions. */
const IU_CASES: [string, string, string[]][] = [
  ['CXR1152', 'there is no pleural effusion pneumothorax or focal airspace disease', [
    'pleural effusion=pleural-effusion NEG', 'pneumothorax=pneumothorax NEG', 'focal=focal NEG', 'airspace disease=airspace-opacity NEG']],
  ['CXR1751', 'no pneumonia effusions edema pneumothorax adenopathy nodules or masses', [
    'pneumonia=pneumonia NEG', 'effusions=pleural-effusion NEG', 'edema=edema NEG', 'pneumothorax=pneumothorax NEG',
    'adenopathy=lymphadenopathy NEG', 'nodules=nodule NEG', 'masses=mass NEG']],
  ['CXR160', 'patchy right lower lobe infiltrate as well as probable left basilar infiltrate versus atelectasis', [
    'patchy=patchy', 'right lower lobe=right-lower-lobe', 'infiltrate=infiltrate', 'probable=probable',
    'left=left UNC', 'basilar=lung-base UNC', 'infiltrate=infiltrate UNC', 'atelectasis=atelectasis UNC']],
  ['CXR2346', 'cardiomegaly without overt heart failure', ['cardiomegaly=cardiomegaly', 'overt=definite NEG', 'heart failure=heart-failure NEG']],
  ['CXR3974', 'hyperexpanded lungs suggesting emphysema', ['hyperexpanded=hyperinflation', 'lungs=lung', 'emphysema=emphysema UNC']],
  ['CXR353', 'small rightsided pleural effusion', ['small=small', 'rightsided=right', 'pleural effusion=pleural-effusion']],
  ['CXR353', 'heart silhouette is not enlarged', ['heart silhouette=cardiac-silhouette', 'enlarged=enlargement NEG']],
  ['CXR3383', 'calcified  mm right midlung granuloma and right hilar granulomas', [
    'calcified=calcification', 'right=right', 'midlung=middle-zone', 'granuloma=granuloma', 'right=right', 'hilar=hilum', 'granulomas=granuloma']],
  ['CXR2200', 'bibasilar atelectasis versus scarring', ['bibasilar=bibasilar UNC', 'atelectasis=atelectasis UNC', 'scarring=scarring UNC']],
  ['CXR3081', 'the aorta is tortuous and ectatic', ['aorta=aorta', 'tortuous=tortuosity', 'ectatic=tortuosity']],
  ['CXR820', 'there are tspine osteophytes', ['tspine=spine', 'osteophytes=degenerative-change']],
  ['CXR3829', 'improved left basilar atelectasis or infiltrate', ['improved=improved', 'left=left', 'basilar=lung-base', 'atelectasis=atelectasis', 'infiltrate=infiltrate']],
  ['CXR1449', 'the lungs are hypoinflated with central bronchovascular crowding but no evidence of overt pulmonary edema', [
    'lungs=lung', 'hypoinflated=hypoinflation', 'overt=definite NEG', 'pulmonary edema=edema NEG']],
  ['CXR2200', 'stable left abdominal surgical clips', ['stable=stable', 'left=left', 'abdominal=upper-abdomen', 'surgical clips=surgical-clips']],
];

test('IU X-ray sentences: hand-checked mentions', { skip: haveIu ? false : `absent: ${iuFile}` }, () => {
  const data = JSON.parse(fs.readFileSync(iuFile, 'utf8')) as Record<string, string[]>;
  for (const [id, sentence, expected] of IU_CASES) {
    assert.ok(data[id]?.includes(sentence), `${id} should contain "${sentence}"`);
    assert.deepEqual(link(sentence), expected, `${id}: ${sentence}`);
  }
});

test('IU X-ray corpus: the common findings are linked and every mention is well-formed', { skip: haveIu ? false : `absent: ${iuFile}` }, () => {
  const data = JSON.parse(fs.readFileSync(iuFile, 'utf8')) as Record<string, string[]>;
  const ids = Object.keys(data).sort().slice(0, 600);
  let sentences = 0;
  let negatedPtx = 0;
  let ptx = 0;
  for (const id of ids) {
    for (const s of data[id]) {
      sentences++;
      for (const m of linkEntities(s, kb)) {
        assert.equal(s.slice(m.start, m.end), m.text);
        assert.ok(kb.get(m.entityId), m.entityId);
        if (m.entityId === 'pneumothorax') {
          ptx++;
          if (m.negated) negatedPtx++;
        }
      }
      // Every sentence that literally says "no pneumothorax" has it negated.
      if (/\bno pneumothorax\b/.test(s)) assert.ok(linkEntities(s, kb).some((m) => m.entityId === 'pneumothorax' && m.negated), s);
    }
  }
  assert.ok(sentences > 1000);
  // Pneumothorax is almost always reported absent in this corpus.
  assert.ok(ptx > 100 && negatedPtx / ptx > 0.9, `${negatedPtx}/${ptx} negated`);
});

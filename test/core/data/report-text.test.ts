import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  cleanReportMgca, countWords, extractSections, reportForTraining, splitSentences,
} from '../../../src/core/data/report-text';

const repoRoot = path.resolve(__dirname, '..', '..', '..');
const fixture = (rel: string): string => fs.readFileSync(path.join(repoRoot, 'test', 'fixtures', 'importers', rel), 'utf8');
const realDir = path.resolve(repoRoot, '..', 'shared', 'data', 'real-cxr');

const MIMIC = fixture('mimic-cxr/files/p10/p10000032/s50414267.txt');

test('extractSections finds MIMIC headings (colon-less FINAL REPORT, blank heading lines)', () => {
  const s = extractSections(MIMIC);
  assert.deepEqual(Object.keys(s), ['final report', 'examination', 'indication', 'technique', 'comparison', 'findings', 'impression']);
  assert.equal(s['final report'], '');
  assert.equal(s.comparison, 'None.');
  assert.equal(s.impression, 'No acute cardiopulmonary process.');
  assert.match(s.findings, /^There is no focal consolidation.*silhouette is normal\.$/s);
});

test('headings are case-insensitive at line start only; unknown lower-case "Note:" is not a heading', () => {
  const s = extractSections('Findings: lungs clear. Impression: none here\nNote: call Dr. X\nimpression:\nNormal chest.');
  assert.deepEqual(s, { findings: 'lungs clear. Impression: none here\nNote: call Dr. X', impression: 'Normal chest.' });
  assert.deepEqual(extractSections('no headings at all.'), {});
});

test('reportForTraining: impression then findings; fallback drops heading labels', () => {
  assert.equal(
    reportForTraining(MIMIC),
    'No acute cardiopulmonary process.\n\nThere is no focal consolidation, pleural effusion or pneumothorax. Bilateral nodular ' +
      'opacities that most likely represent nipple shadows. The cardiomediastinal silhouette is normal.',
  );
  assert.equal(
    reportForTraining(fixture('mimic-cxr/files/p10/p10000764/s57375967.txt')),
    'PA and lateral views of the chest. Right lower lobe opacity, e.g. pneumonia, measuring 1.5 cm.',
  );
  assert.equal(reportForTraining('FINDINGS AND IMPRESSION: Clear lungs.'), 'Clear lungs.');
});

test('splitSentences: offsets index the input; abbreviations, decimals, numbered lists, blank lines', () => {
  const text = 'IMPRESSION:\n1. Nodule of 1.5 cm, e.g. granuloma.\n2. No effusion vs. atelectasis\n\nHeart normal! Size? ok';
  const spans = splitSentences(text);
  assert.deepEqual(spans.map((s) => s.text), [
    'IMPRESSION:', 'Nodule of 1.5 cm, e.g. granuloma.', 'No effusion vs. atelectasis', 'Heart normal!', 'Size?', 'ok',
  ]);
  for (const s of spans) assert.equal(text.slice(s.start, s.end), s.text);
  assert.equal(spans[1].start, text.indexOf('Nodule'));
});

test('splitSentences: inline numbered list, wrapped lines, "No. 2", trailing brackets', () => {
  assert.deepEqual(splitSentences('1. Mild edema 2. Small effusion 3. Tube in place (stable.) Next one.').map((s) => s.text),
    ['Mild edema', 'Small effusion', 'Tube in place (stable.)', 'Next one.']);
  assert.deepEqual(splitSentences('There is a\n wrapped line. Line No. 2 ends here. no.').map((s) => s.text),
    ['There is a\n wrapped line.', 'Line No. 2 ends here.', 'no.']);
  assert.deepEqual(splitSentences('...  '), []);
});

test('cleanReportMgca: lower-case \\w+ tokens, sentences of <= 1 token dropped, non-ASCII stripped', () => {
  assert.equal(cleanReportMgca('Normal. Heart size is NORMAL.  Stable. 1. Clear café lungs, 1.5 cm.'),
    'heart size is normal clear caf lungs 1 5 cm');
  assert.equal(cleanReportMgca('Normal.'), '');
  assert.equal(countWords('No acute process, e.g. 1.5cm'), 7); // No acute process e g 1 5cm
  assert.equal(countWords(''), 0);
});

test('real IU X-ray reports: sentence spans are exact and cleaning keeps every multi-word sentence',
  { skip: !fs.existsSync(path.join(realDir, 'iu-xray', 'data_entry.json')) && 'real-cxr fixtures absent' }, () => {
    const entries = JSON.parse(fs.readFileSync(path.join(realDir, 'iu-xray', 'data_entry.json'), 'utf8')) as Record<string, string[]>;
    let checked = 0;
    for (const sents of Object.values(entries).slice(0, 300)) {
      const text = sents.map((s) => `${s}.`).join(' ');
      const spans = splitSentences(text);
      for (const sp of spans) assert.equal(text.slice(sp.start, sp.end), sp.text);
      // Sentences here never contain a period, so each one must come back as one span.
      assert.equal(spans.length, sents.filter((s) => /\w/.test(s)).length, text);
      const expected = sents.map((s) => s.match(/\w+/g) ?? []).filter((t) => t.length > 1).map((t) => t.join(' ')).join(' ');
      assert.equal(cleanReportMgca(text), expected.replace(/[^\x00-\x7f]/g, ''));
      checked++;
    }
    assert.ok(checked > 100);
  });

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  cleanReportMgca, countWords, decodeReportText, extractSections, reportForTraining, reportTextProblem, splitSentences,
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

test('a known heading in capitals after a sentence end is a heading on a one-line report', () => {
  const s = extractSections('FINDINGS: There is a small effusion. IMPRESSION: Small effusion. NOTE: not a known heading.');
  assert.deepEqual(s, { findings: 'There is a small effusion.', impression: 'Small effusion. NOTE: not a known heading.' });
  // Without a sentence end before it, or in mixed case, it is prose.
  assert.deepEqual(Object.keys(extractSections('FINDINGS: see IMPRESSION: below. Impression: none.')), ['findings']);
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

test('reportTextProblem: the one rule info, train and explain apply to a report', () => {
  assert.equal(reportTextProblem('Heart size normal. No effusion.'), undefined);
  assert.equal(reportTextProblem('Kein Erguss. Herz normal groß.'), undefined);
  assert.equal(reportTextProblem('心脏大小正常。'), undefined);
  assert.equal(reportTextProblem('Findings:\tclear.\r\n\fImpression: normal.\v'), undefined, 'ordinary whitespace controls are text');
  assert.equal(reportTextProblem(' \n\t '), 'is empty');
  assert.match(reportTextProblem('\u200b\u200c\u200d\u2060\ufeff') ?? '', /has no words .*zero-width/);
  assert.match(reportTextProblem('... --- !!!') ?? '', /has no words/);
  assert.match(reportTextProblem('Clear\u0000lungs') ?? '', /NUL characters/);
  assert.equal(reportTextProblem('ab\u0001\u0002\u0003cd\u0004'.repeat(50)), 'does not look like text (50% control or undecodable characters)');
  assert.match(reportTextProblem('Effusion \ufffd\ufffd\ufffd\ufffd\ufffd\ufffd') ?? '', /does not look like text/);
  assert.equal(reportTextProblem(`${'Clear lungs. '.repeat(100)}\u0007`), undefined, 'one stray control character in a long report is tolerated');
});

test('decodeReportText: strict UTF-8 (random bytes refused), BOM stripped, then the text rule', () => {
  assert.deepEqual(decodeReportText(Buffer.from('\uFEFFClear lungs.', 'utf8')), { ok: true, text: 'Clear lungs.' });
  assert.deepEqual(decodeReportText(Buffer.from([0x43, 0x6c, 0xe9, 0x61, 0x72])), { ok: false, reason: 'is not valid UTF-8 text' });
  // Random bytes: practically never valid UTF-8; when they are, they are mostly control characters.
  for (let seed = 1; seed <= 20; seed++) {
    const bytes = Buffer.alloc(4096);
    let x = seed;
    for (let i = 0; i < bytes.length; i++) { x = (x * 1103515245 + 12345) >>> 0; bytes[i] = x >>> 24; }
    assert.equal(decodeReportText(bytes).ok, false, `seed ${seed}`);
    const ascii = bytes.map((b) => b & 0x7f);
    assert.equal(decodeReportText(ascii).ok, false, `ascii seed ${seed}`);
  }
  assert.deepEqual(decodeReportText(Buffer.from('\u200b\u200b', 'utf8')).ok, false);
});

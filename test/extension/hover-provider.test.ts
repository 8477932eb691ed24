import { mock, CancellationTokenSource, Position, type Hover } from './vscode-mock';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { encodeExplanation, type ExplanationPayload } from '../../src/protocol/explain';
import { ExplainService, explainCacheKey, type ExplainRequest } from '../../src/extension/explain-service';
import { attentionThumbnail, hoverMarkdown, topRelated, wordAtOffset } from '../../src/extension/hover-content';
import { ReportHoverProvider, SHOW_WORD_COMMAND } from '../../src/extension/hover-provider';
import { decodePngGray, encodeRgbPng } from '../../src/extension/png';
import { inlineReport } from '../../src/extension/report-source';
import { syntheticPayload } from '../webview/payload';
import type * as vscode from 'vscode';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-hover-'));

test('PNG codec: our encoder is readable by sharp, our decoder reads sharp\'s PNG', async () => {
  const rgb = new Uint8Array(5 * 3 * 3).map((_, i) => (i * 37) % 256);
  const { data, info } = await sharp(encodeRgbPng(5, 3, rgb)).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [5, 3, 3]);
  assert.deepEqual(new Uint8Array(data), rgb);
  const gray = new Uint8Array(7 * 4).map((_, i) => (i * 29) % 256);
  const png = await sharp(Buffer.from(gray), { raw: { width: 7, height: 4, channels: 1 } }).png().toBuffer();
  const dec = decodePngGray(png)!;
  assert.deepEqual([dec.width, dec.height], [7, 4]);
  assert.deepEqual(dec.gray, gray);
});

test('hover markdown of a real payload: importance, related words, score, thumbnail, command link', async () => {
  const p = await syntheticPayload(100);
  const i = p.words.findIndex((w) => w.text === 'effusion');
  assert.equal(wordAtOffset(p, p.words[i].start + 2), i);
  assert.equal(wordAtOffset(p, p.words[0].end), -1); // the space after the first word
  const md = hoverMarkdown(p, i, { command: SHOW_WORD_COMMAND, commandArgs: [{ index: i }] });
  assert.match(md, new RegExp(`IRM importance: ${p.importance[i].toFixed(3)} \\(rank \\d+ of 100\\)`));
  assert.match(md, new RegExp(`Local-matching score: ${p.wordScore[i].toFixed(3)}`));
  const related = topRelated(p, i, 5);
  assert.equal(related.length, 5);
  assert.ok(related.every((r, k) => r.index !== i && (k === 0 || related[k - 1].value >= r.value)));
  assert.ok(md.includes(`SRM-related words: ${related[0].text.replace(/-/g, '\\-')} (${related[0].value.toFixed(3)})`));
  const uri = /\(data:image\/png;base64,([A-Za-z0-9+/=]+)\)/.exec(md);
  assert.ok(uri, 'thumbnail data URI');
  const thumb = decodePngGray(Buffer.from(uri[1], 'base64'))!;
  assert.deepEqual([thumb.width, thumb.height], [64, 64]);
  assert.ok(md.includes(`[Show in panel](command:${SHOW_WORD_COMMAND}?${encodeURIComponent(JSON.stringify([{ index: i }]))}`));
});

test('attention thumbnail: the attended quadrant is coloured (bright end of viridis)', async () => {
  const p = await syntheticPayload(20);
  const [R, C] = p.grid;
  p.attention.fill(0);
  for (let r = 0; r < R / 2; r++) for (let c = 0; c < C / 2; c++) p.attention[r * C + c] = 1; // word 0: top-left
  const { data } = await sharp(attentionThumbnail(p, 0, 32)).raw().toBuffer({ resolveWithObject: true });
  const px = (x: number, y: number): number[] => [...data.subarray((y * 32 + x) * 3, (y * 32 + x) * 3 + 3)];
  const [r1, g1, b1] = px(4, 4);
  const [r2, g2, b2] = px(28, 28);
  assert.ok(g1 > b1 && r1 + g1 > r2 + g2, `top-left ${[r1, g1, b1]} vs bottom-right ${[r2, g2, b2]}`);
});

test('inline manifest report: columns map to report offsets through JSON escapes', () => {
  const report = 'Left "effusion".\nNo pneumothorax.';
  const line = JSON.stringify({ id: 's1', image: 'images/s1.png', report, split: 'test' });
  const inl = inlineReport(line, '/data/ds/manifest.jsonl')!;
  assert.equal(inl.pairing.reportText, report);
  assert.equal(inl.pairing.image, path.resolve('/data/ds/images/s1.png'));
  const col = line.indexOf('pneumothorax');
  assert.equal(inl.colToOffset[col - inl.valueStart], report.indexOf('pneumothorax'));
  assert.equal(inl.offsetToCol[report.indexOf('effusion')], line.indexOf('effusion'));
});

interface Fixture { dir: string; image: string; reportFile: string; payload: ExplanationPayload; calls: string[][]; service: ExplainService }

async function fixture(): Promise<Fixture> {
  const dir = tmp();
  const payload = await syntheticPayload(30);
  const image = path.join(dir, 'images', 's1.png');
  const reportFile = path.join(dir, 'reports', 's1.txt');
  fs.mkdirSync(path.dirname(image), { recursive: true });
  fs.mkdirSync(path.dirname(reportFile), { recursive: true });
  fs.writeFileSync(image, payload.image.png);
  fs.writeFileSync(reportFile, payload.report + '\n');
  fs.writeFileSync(path.join(dir, 'manifest.jsonl'), JSON.stringify({ id: 's1', image: 'images/s1.png', report_file: 'reports/s1.txt', split: 'test' }) + '\n');
  const calls: string[][] = [];
  const line = JSON.stringify(encodeExplanation(payload));
  const service = new ExplainService(async (args) => {
    calls.push(args);
    await new Promise((r) => setTimeout(r, 20));
    return ['some log line', line];
  }, path.join(dir, 'tmp'));
  return { dir, image, reportFile, payload, calls, service };
}

test('explain cache: keyed by file stamps + model; concurrent requests share one engine run', async () => {
  const f = await fixture();
  const req: ExplainRequest = { image: f.image, report: { file: f.reportFile }, model: { kind: 'onnx', path: path.join(f.dir, 'm.onnx') } };
  const [a, b] = await Promise.all([f.service.explain(req), f.service.explain(req)]);
  assert.equal(f.calls.length, 1);
  assert.equal(a, b);
  assert.deepEqual(f.calls[0], ['explain', '--model', path.join(f.dir, 'm.onnx'), '--image', f.image, '--report', f.reportFile, '--payload']);
  assert.ok(a.attention instanceof Float32Array && a.attention.length === f.payload.attention.length);
  await f.service.explain(req);
  assert.equal(f.calls.length, 1, 'cache hit');
  await f.service.explain({ ...req, model: { kind: 'run', path: path.join(f.dir, 'run1') } });
  assert.equal(f.calls.length, 2, 'another model is another key');
  assert.deepEqual(f.calls[1].slice(1, 3), ['--run', path.join(f.dir, 'run1')]);
  const before = explainCacheKey(req);
  const later = new Date(Date.now() + 5000);
  fs.utimesSync(f.image, later, later);
  assert.notEqual(explainCacheKey(req), before);
  assert.equal(f.service.peek(req), undefined);
  await f.service.explain(req);
  assert.equal(f.calls.length, 3, 'a changed image is recomputed');
});

function doc(file: string) {
  const text = fs.readFileSync(file, 'utf8');
  const lineStarts = [0, ...[...text.matchAll(/\n/g)].map((m) => m.index + 1)];
  return {
    fileName: file, isDirty: false, uri: { scheme: 'file', fsPath: file },
    getText: () => text,
    offsetAt: (p: Position) => lineStarts[p.line] + p.character,
    positionAt: (o: number) => { let l = 0; while (l + 1 < lineStarts.length && lineStarts[l + 1] <= o) l++; return new Position(l, o - lineStarts[l]); },
    lineAt: (l: number) => ({ text: text.slice(lineStarts[l], (lineStarts[l + 1] ?? text.length + 1) - 1) }),
  };
}

test('hover provider: undefined at once while computing, then the word\'s hover from the cache', async () => {
  mock.reset();
  const f = await fixture();
  const logs: string[] = [];
  const hp = new ReportHoverProvider(f.service, () => ({ kind: 'onnx', path: path.join(f.dir, 'm.onnx') }), (m) => logs.push(m));
  const d = doc(f.reportFile) as unknown as vscode.TextDocument;
  const w = f.payload.words[5];
  const pos = d.positionAt(w.start + 1);
  const token = new CancellationTokenSource().token as unknown as vscode.CancellationToken;
  const t0 = Date.now();
  assert.equal(hp.provideHover(d, pos, token), undefined);
  assert.ok(Date.now() - t0 < 50, 'hover must not wait for the engine');
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(f.calls.length, 1);
  const hover = hp.provideHover(d, pos, token) as unknown as Hover;
  assert.ok(hover);
  assert.match(hover.contents.value, /IRM importance/);
  assert.deepEqual(hover.contents.isTrusted, { enabledCommands: [SHOW_WORD_COMMAND] });
  assert.deepEqual(hover.range!.start, d.positionAt(w.start));
  assert.deepEqual(hover.range!.end, d.positionAt(w.end));
  const cts = new CancellationTokenSource();
  cts.cancel();
  assert.equal(hp.provideHover(d, pos, cts.token as unknown as vscode.CancellationToken), undefined);
  // A .txt that no manifest line names is not a report.
  const stray = path.join(f.dir, 'notes.txt');
  fs.writeFileSync(stray, 'effusion');
  assert.equal(hp.provideHover(doc(stray) as unknown as vscode.TextDocument, new Position(0, 1) as unknown as vscode.Position, token), undefined);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(f.calls.length, 1);
  assert.deepEqual(logs, []);
});

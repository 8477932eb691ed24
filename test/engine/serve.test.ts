// `reclf serve` as a process: pipelined JSON-line requests on stdin, one answer per request in
// order, user mistakes answered as clean errors while the server keeps serving.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { decodeExplanation, validateExplanation } from '../../src/protocol/explain';
import { parseServeResponse, type ServeResponse } from '../../src/protocol/serve';
import { parseServeRequest } from '../../src/engine/commands/serve';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = path.join(root, 'bin', 'reclf.js');
const bundled = path.join(root, 'models', 'reclf-default.onnx');
const skip = fs.existsSync(bundled) ? false : `${bundled} absent (npm run build:model)`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-serve-'));

function syntheticImage(): string {
  const out = path.join(tmp, 'ds');
  if (!fs.existsSync(out)) {
    const r = spawnSync(process.execPath, [cli, 'synth', '--out', out, '--n', '2'], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  }
  const first = JSON.parse(fs.readFileSync(path.join(out, 'manifest.jsonl'), 'utf8').split('\n')[0]) as { image: string };
  return path.join(out, first.image);
}

/** Runs `reclf serve` with these stdin lines; resolves with its answers, exit code and stderr. */
function serveOnce(lines: string[], args: string[] = [], closeStdin = true): Promise<{ answers: ServeResponse[]; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'serve', ...args], { cwd: root, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => { out += d; });
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    const killer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(killer);
      const raw = out.split('\n').filter(Boolean);
      const answers = raw.map((l) => parseServeResponse(l));
      assert.ok(answers.every(Boolean), `stdout has a line that is not a response:\n${out.slice(0, 500)}`);
      resolve({ answers: answers as ServeResponse[], code, stderr });
    });
    for (const l of lines) child.stdin.write(l + '\n');
    if (closeStdin) child.stdin.end();
  });
}

test('request parsing names the offending field', () => {
  assert.deepEqual(parseServeRequest('{"id":"a","method":"shutdown"}'), { id: 'a', method: 'shutdown' });
  assert.deepEqual(parseServeRequest('{"id":1,"method":"explain","image":"x.png","reportText":"No effusion.","run":"R"}'),
    { id: 1, method: 'explain', image: 'x.png', reportText: 'No effusion.', run: 'R' });
  const fieldOf = (line: string): string | undefined => {
    try {
      parseServeRequest(line);
    } catch (e) {
      return (e as { field?: string }).field ?? 'none';
    }
    return undefined;
  };
  assert.equal(fieldOf('{"method":"explain"}'), 'id');
  assert.equal(fieldOf('{"id":1,"method":"paint"}'), 'method');
  assert.equal(fieldOf('{"id":1,"method":"explain","reportText":"a"}'), 'image');
  assert.equal(fieldOf('{"id":1,"method":"explain","image":"i.png"}'), 'report');
  assert.equal(fieldOf('{"id":1,"method":"explain","image":"i.png","report":"r.txt","reportText":"a"}'), 'report');
  assert.equal(fieldOf('{"id":1,"method":"explain","image":"i.png","reportText":"a","model":"m","run":"r"}'), 'model');
  assert.equal(fieldOf('[1]'), 'none');
});

test('pipelined requests: two explanations, a bad one answered cleanly, the next still served, then shutdown', { skip }, async () => {
  const image = syntheticImage();
  const reportFile = path.join(tmp, 'report.txt');
  fs.writeFileSync(reportFile, 'Small left pleural effusion. No pneumothorax.\n');
  const req = (o: Record<string, unknown>): string => JSON.stringify({ method: 'explain', image, ...o });
  const { answers, code, stderr } = await serveOnce([
    req({ id: 'a', report: reportFile }),
    req({ id: 'b', reportText: 'Right upper lobe opacity, consistent with pneumonia.' }),
    req({ id: 'bad', image: path.join(tmp, 'missing.png'), reportText: 'Normal heart size.' }),
    req({ id: 'empty', reportText: '   ' }),
    '{ not json',
    req({ id: 'c', reportText: 'Cardiomegaly with mild pulmonary edema.' }),
    JSON.stringify({ id: 'bye', method: 'shutdown' }),
    req({ id: 'after-shutdown', reportText: 'never answered' }),
  ], [], false);
  assert.equal(code, 0, stderr);
  assert.deepEqual(answers.map((a) => a.id), ['a', 'b', 'bad', 'empty', null, 'c', 'bye'], 'one answer per request, in order, none after shutdown');
  const payloads = [answers[0], answers[1], answers[5]].map((a) => {
    assert.ok(a.ok && a.payload, `request ${String(a.id)} failed: ${a.ok ? '' : a.error}`);
    const p = decodeExplanation(a.payload);
    assert.deepEqual(validateExplanation(p), []);
    assert.equal(p.model.source, 'bundled');
    assert.ok(p.words.length > 2 && p.image.png.length > 100);
    return p;
  });
  assert.equal(payloads[0].report, fs.readFileSync(reportFile, 'utf8'));
  assert.equal(payloads[0].reportPath, reportFile);
  assert.equal(payloads[1].report, 'Right upper lobe opacity, consistent with pneumonia.');
  assert.equal(payloads[1].reportPath, undefined);
  const bad = answers[2];
  assert.ok(!bad.ok);
  assert.equal(bad.field, 'image');
  assert.match(bad.error, /missing\.png/);
  assert.ok(!answers[3].ok && /empty/.test(answers[3].error), 'an empty report is a user error');
  assert.ok(!answers[4].ok && /not valid JSON/.test(answers[4].error));
  assert.doesNotMatch(stderr, /internal error|at .*\.(ts|js|cjs):\d+/, 'user mistakes must not print stacks');
  // The model is loaded once for all requests.
  assert.equal(stderr.match(/loaded .*reclf-default\.onnx/g)?.length, 1, stderr);
});

test('exits on stdin end and after --idle-exit without requests', { skip }, async () => {
  const ended = await serveOnce([]);
  assert.equal(ended.code, 0, ended.stderr);
  assert.match(ended.stderr, /stdin closed/);
  const t0 = Date.now();
  const idle = await serveOnce([], ['--idle-exit', '0.5'], false);
  assert.equal(idle.code, 0, idle.stderr);
  assert.match(idle.stderr, /idle for 0\.5 s/);
  assert.ok(Date.now() - t0 < 30_000);
  assert.deepEqual(idle.answers, []);
});

test('a bad flag is a usage error', () => {
  const r = spawnSync(process.execPath, [cli, 'serve', '--max-models', '0'], { cwd: root, encoding: 'utf8', input: '' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--max-models must be a positive integer/);
});

// The explain client: one persistent `reclf serve` (a scripted fake, then the real engine),
// restarted when it dies, stopped when idle or disposed, with the one-shot CLI as fallback.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { encodeExplanation, type ExplanationPayload } from '../../src/protocol/explain';
import type { ServeResponse } from '../../src/protocol/serve';
import { ExplainServerClient, ExplainService, type ExplainRequest, type ServerHandle } from '../../src/extension/explain-service';
import { engineLaunch, isAlive, startEngineServer, type EngineServer } from '../../src/extension/engine-process';
import { parseArgs } from '../../src/engine/args';
import { serveCommand } from '../../src/engine/commands/serve';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-explain-client-'));
const image = path.join(tmp, 'img.png');
const reportFile = path.join(tmp, 'r1.txt');
fs.writeFileSync(image, 'not read by the fake');
fs.writeFileSync(reportFile, 'Left effusion.\n');
const model = { kind: 'onnx' as const, path: path.join(tmp, 'm.onnx') };

function payloadFor(report: string): ExplanationPayload {
  const words = [...report.matchAll(/\w+/g)].map((m) => ({ text: m[0], start: m.index ?? 0, end: (m.index ?? 0) + m[0].length }));
  const n = words.length;
  return {
    model: { name: 'm.onnx', method: 'reclf', source: 'onnx' }, image: { png: new Uint8Array([137, 80, 78, 71]), width: 2, height: 2 },
    grid: [2, 2], report, words, attention: new Float32Array(n * 4).fill(0.25), relation: new Float32Array(n * n),
    importance: new Float32Array(n).fill(1 / n), wordScore: new Float32Array(n), scores: { global: 0.5, local: 0.25 },
  };
}

interface FakeServer extends ServerHandle {
  lines: Array<Record<string, unknown>>;
  stopped: boolean;
  die(): void;
}

/** A scripted server: `answer` decides each reply (undefined = stay silent). */
function fakeLauncher(answer: (req: Record<string, unknown>, server: FakeServer) => ServeResponse | undefined): { launch: (onLine: (l: string) => void) => FakeServer; servers: FakeServer[] } {
  const servers: FakeServer[] = [];
  const launch = (onLine: (l: string) => void): FakeServer => {
    let exit: (v: unknown) => void = () => undefined;
    const s: FakeServer = {
      lines: [], stopped: false,
      exited: new Promise((r) => { exit = r; }),
      send(line) {
        if (s.stopped) return false;
        const req = JSON.parse(line) as Record<string, unknown>;
        s.lines.push(req);
        const a = answer(req, s);
        if (a) setImmediate(() => onLine(JSON.stringify(a)));
        return true;
      },
      async stop() { s.die(); },
      die() { if (!s.stopped) { s.stopped = true; setImmediate(() => exit({ code: 0 })); } },
    };
    servers.push(s);
    return s;
  };
  return { launch, servers };
}

const okAnswer = (req: Record<string, unknown>): ServeResponse => {
  const text = typeof req.reportText === 'string' ? req.reportText : fs.readFileSync(String(req.report), 'utf8');
  return { id: req.id as number, ok: true, payload: encodeExplanation(payloadFor(text)) };
};

function cliRunner(): { calls: string[][]; run: (args: string[]) => Promise<string[]> } {
  const calls: string[][] = [];
  return {
    calls,
    run: async (args) => {
      calls.push(args);
      return [JSON.stringify(encodeExplanation(payloadFor('From the CLI.')))];
    },
  };
}

test('explanations go to one lazily started server; request fields map; results are cached and shared', async () => {
  const { launch, servers } = fakeLauncher(okAnswer);
  const cli = cliRunner();
  const server = new ExplainServerClient(launch);
  const svc = new ExplainService(cli.run, path.join(tmp, 'e1'), 32, { server });
  assert.equal(servers.length, 0, 'nothing starts before the first request');
  const a: ExplainRequest = { image, report: { file: reportFile }, model };
  const b: ExplainRequest = { image, report: { text: 'Right apical nodule.', id: 's1' }, model: { kind: 'run', path: tmp } };
  const [p1, p1again, p2] = await Promise.all([svc.explain(a), svc.explain(a), svc.explain(b)]);
  assert.equal(p1, p1again, 'concurrent requests for the same key share one answer');
  assert.equal(p1.report, 'Left effusion.\n');
  assert.equal(p2.report, 'Right apical nodule.');
  assert.equal(p2.reportPath, undefined);
  assert.equal(servers.length, 1);
  const [l1, l2] = servers[0].lines;
  assert.deepEqual({ ...l1, id: 0 }, { id: 0, method: 'explain', image, report: reportFile, model: model.path });
  assert.deepEqual({ ...l2, id: 0 }, { id: 0, method: 'explain', image, reportText: 'Right apical nodule.', run: tmp });
  await svc.explain(a);
  assert.equal(servers[0].lines.length, 2, 'a cached result does not reach the server');
  assert.equal(cli.calls.length, 0);
  await svc.dispose();
  assert.ok(servers[0].stopped, 'dispose stops the server');
  assert.equal(server.available, false);
});

test('a refused request is a clean error (reported once, no CLI retry) and the server keeps serving', async () => {
  const { launch, servers } = fakeLauncher((req) => (String(req.reportText).includes('bad')
    ? { id: req.id as number, ok: false, error: '/x.png: no such image file', field: 'image' } : okAnswer(req)));
  const cli = cliRunner();
  const errors: Array<[string, boolean]> = [];
  const svc = new ExplainService(cli.run, path.join(tmp, 'e2'), 32, { server: new ExplainServerClient(launch), onError: (m, s) => errors.push([m, s]) });
  await assert.rejects(svc.explain({ image, report: { text: 'bad one', id: 'x' }, model }), /no such image file/);
  await assert.rejects(svc.explain({ image, report: { text: 'bad two', id: 'y' }, model }, { silent: true }), /no such image file/);
  assert.deepEqual(errors.map(([, silent]) => silent), [false, true]);
  const ok = await svc.explain({ image, report: { text: 'Good one.', id: 'z' }, model });
  assert.equal(ok.report, 'Good one.');
  assert.equal(servers.length, 1);
  assert.equal(cli.calls.length, 0);
  await svc.dispose();
});

test('a server that dies is restarted on the next request; its unanswered request falls back to the CLI', async () => {
  let n = 0;
  const { launch, servers } = fakeLauncher((req, s) => {
    n++;
    if (n === 2) { s.die(); return undefined; } // crashes on the second request
    return okAnswer(req);
  });
  const cli = cliRunner();
  const svc = new ExplainService(cli.run, path.join(tmp, 'e3'), 32, { server: new ExplainServerClient(launch) });
  assert.equal((await svc.explain({ image, report: { text: 'One.', id: '1' }, model })).report, 'One.');
  assert.equal((await svc.explain({ image, report: { text: 'Two.', id: '2' }, model })).report, 'From the CLI.');
  assert.equal(cli.calls.length, 1);
  assert.equal(cli.calls[0][0], 'explain');
  assert.equal((await svc.explain({ image, report: { text: 'Three.', id: '3' }, model })).report, 'Three.');
  assert.equal(servers.length, 2, 'a fresh server for the request after the crash');
  await svc.dispose();
});

test('a server that cannot start: the CLI answers, and after repeated start failures the client stops trying', async () => {
  const { launch, servers } = fakeLauncher((_req, s) => { s.die(); return undefined; });
  const cli = cliRunner();
  const server = new ExplainServerClient(launch, { maxStartFailures: 2 });
  const svc = new ExplainService(cli.run, path.join(tmp, 'e4'), 32, { server });
  for (const t of ['a', 'b', 'c']) assert.equal((await svc.explain({ image, report: { text: t, id: t }, model })).report, 'From the CLI.');
  assert.equal(servers.length, 2);
  assert.equal(server.available, false);
  assert.equal(cli.calls.length, 3);

  let launches = 0;
  const throwing = new ExplainServerClient(() => { launches++; throw new Error('spawn ENOENT'); });
  const svc2 = new ExplainService(cli.run, path.join(tmp, 'e5'), 32, { server: throwing });
  assert.equal((await svc2.explain({ image, report: { text: 'q', id: 'q' }, model })).report, 'From the CLI.');
  assert.equal(launches, 1);
});

test('no engine starts when not allowed (restricted workspace)', async () => {
  const { launch, servers } = fakeLauncher(okAnswer);
  const cli = cliRunner();
  const svc = new ExplainService(cli.run, path.join(tmp, 'e6'), 32, { server: new ExplainServerClient(launch), allowed: () => false });
  await assert.rejects(svc.explain({ image, report: { text: 'x', id: 'x' }, model }), /restricted workspace/);
  assert.equal(servers.length, 0);
  assert.equal(cli.calls.length, 0);
});

test('an idle server is stopped; a request that gets no answer times out and restarts it', async () => {
  const { launch, servers } = fakeLauncher(okAnswer);
  const client = new ExplainServerClient(launch, { idleMs: 30 });
  await client.request({ image, reportText: 'a' });
  assert.ok(client.running);
  await new Promise((r) => setTimeout(r, 120));
  assert.ok(servers[0].stopped, 'stopped after the idle period');
  assert.equal(client.running, false);
  await client.request({ image, reportText: 'b' });
  assert.equal(servers.length, 2);
  await client.dispose();

  const silent = fakeLauncher(() => undefined);
  const slow = new ExplainServerClient(silent.launch, { requestTimeoutMs: 40 });
  await assert.rejects(slow.request({ image, reportText: 'c' }), /did not answer in 40 ms/);
  await new Promise((r) => setTimeout(r, 20));
  assert.ok(silent.servers[0].stopped);
  await slow.dispose();
});

const bundled = path.join(root, 'models', 'reclf-default.onnx');
test('the real `reclf serve` through startEngineServer: two reports, then dispose kills it', { skip: fs.existsSync(bundled) ? false : 'no bundled model' }, async () => {
  const ds = path.join(tmp, 'ds');
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'reclf.js'), 'synth', '--out', ds, '--n', '2'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const rec = JSON.parse(fs.readFileSync(path.join(ds, 'manifest.jsonl'), 'utf8').split('\n')[0]) as { image: string };
  const args = ['serve', '--idle-exit', '60'];
  assert.equal(parseArgs(serveCommand.spec, args.slice(1)).flags.idleExit, 60);
  let proc: EngineServer | undefined;
  let stderr = '';
  const launch = engineLaunch({ nodePath: process.execPath, execPath: process.execPath, enginePath: path.join(root, 'bin', 'reclf.js'), nodeArgs: [], env: process.env }, args);
  const server = new ExplainServerClient((onLine) => (proc = startEngineServer(launch, { cwd: root, onLine, onStderr: (t) => { stderr += t; } })));
  const cli = cliRunner();
  const svc = new ExplainService(cli.run, path.join(tmp, 'e7'), 32, { server });
  const bundledModel = { kind: 'onnx' as const, path: bundled };
  const img = path.join(ds, rec.image);
  try {
    const p1 = await svc.explain({ image: img, report: { text: 'Small left pleural effusion.', id: 'a' }, model: bundledModel });
    const p2 = await svc.explain({ image: img, report: { text: 'Right upper lobe opacity.', id: 'b' }, model: bundledModel });
    assert.equal(cli.calls.length, 0, `fell back to the CLI: ${stderr}`);
    assert.deepEqual(p1.words.map((w) => w.text.toLowerCase()).filter((w) => /\w/.test(w)), ['small', 'left', 'pleural', 'effusion']);
    assert.equal(p2.report, 'Right upper lobe opacity.');
    assert.equal(p1.grid[0] * p1.grid[1] * p1.words.length, p1.attention.length);
    await assert.rejects(svc.explain({ image: path.join(tmp, 'nope.png'), report: { text: 'x y', id: 'c' }, model: bundledModel }), /no such image file/);
    assert.ok(proc && isAlive(proc.pid));
  } finally {
    await svc.dispose();
  }
  assert.equal(isAlive(proc!.pid), false, 'the server process is gone after dispose');
  assert.equal(stderr.match(/loaded /g)?.length, 1, 'the model is loaded once');
});

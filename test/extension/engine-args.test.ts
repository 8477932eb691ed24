// The argument lists the extension builds for the engine, checked against the engine's own flag
// specs (src/engine/commands/*.ts): a renamed or removed flag, a missing required one, or a
// command the engine does not know fails here instead of in a user's VS Code.
import { mock, vscodeMock, fakeLog, Memento, Uri } from './vscode-mock';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs, type ParsedArgs } from '../../src/engine/args';
import { commands as engineCommands } from '../../src/engine/commands/index';
import { registerCommands, type Services } from '../../src/extension/commands';
import { ExplainService } from '../../src/extension/explain-service';
import type { RunRequest } from '../../src/extension/run-manager';
import type { RunInfo } from '../../src/extension/run-info';

/** Parses argv exactly like the engine's main(): one- or two-word command name, then its flags. */
function engineParse(argv: string[]): { name: string; parsed: ParsedArgs } {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const cmd = engineCommands.find((c) => c.spec.name === name);
    if (cmd) {
      const parsed = parseArgs(cmd.spec, argv.slice(words));
      assert.deepEqual(parsed.positionals, [], `reclf ${name}: stray positional arguments in ${JSON.stringify(argv)}`);
      return { name, parsed };
    }
  }
  throw new assert.AssertionError({ message: `the engine has no command for ${JSON.stringify(argv)}` });
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-engine-args-'));
const dataDir = path.join(tmp, 'data');
const runDir = path.join(tmp, 'runs', 'r1');
const image = path.join(dataDir, 'images', 's1.png');
const reportFile = path.join(dataDir, 'reports', 's1.txt');

const run: RunInfo = { dir: runDir, name: 'r1', status: 'ok', method: 'reclf', metrics: {}, hasOnnx: false, hasCheckpoint: true };

/** Scripted user answers, consumed in order by the dialogs the command opens. */
interface Script {
  quickPicks: string[];
  inputs: string[];
  dialogs: string[];
  /** Filled with each quick pick's item labels, in order. */
  seen?: string[][];
}

function installDialogs(s: Script): void {
  const w = vscodeMock.window as unknown as Record<string, unknown>;
  w.showQuickPick = (items: Array<string | { label: string }>) => {
    s.seen?.push(items.map((i) => (typeof i === 'string' ? i : i.label)));
    const want = s.quickPicks.shift();
    return Promise.resolve(items.find((i) => (typeof i === 'string' ? i : i.label) === want));
  };
  w.showInputBox = (o: { value?: string }) => Promise.resolve(s.inputs.length ? s.inputs.shift() : o.value);
  w.showOpenDialog = () => {
    const p = s.dialogs.shift();
    return Promise.resolve(p ? [Uri.file(p)] : undefined);
  };
  w.activeTextEditor = undefined;
}

function services(started: RunRequest[]): Services {
  const runs = {
    start: (r: RunRequest) => { started.push(r); return Promise.resolve({ status: 'ok', events: [], stdout: [], exit: { code: 0, signal: null } }); },
    running: [], isRunning: () => false, cancel: () => Promise.resolve(false),
  };
  const tree = { runs: () => [run], refresh: () => undefined };
  return {
    runs, tree, panel: { showTable: () => undefined, reveal: () => Promise.resolve() }, explain: {},
    models: { current: () => undefined, describe: () => 'no model', select: () => Promise.resolve() },
    hovers: { reset: () => undefined }, log: fakeLog(), workspaceState: new Memento(),
  } as unknown as Services;
}

async function runCommand(id: string, script: Script, ...args: unknown[]): Promise<string[]> {
  return runCommandWith({ defaultBackend: 'cpu' }, id, script, ...args);
}

async function runCommandWith(config: Record<string, unknown>, id: string, script: Script, ...args: unknown[]): Promise<string[]> {
  mock.reset();
  // A Slurm folder without sbatch: no "where to run" question, whatever this machine's PATH holds
  // (slurm.test.ts covers the choice).
  mock.config = { runsFolder: path.join(tmp, 'runs'), 'slurm.binDir': path.join(tmp, 'no-slurm'), ...config };
  installDialogs(script);
  const started: RunRequest[] = [];
  registerCommands(services(started));
  await mock.commands.get(id)!(...args);
  assert.equal(started.length, 1, `${id} should start exactly one engine run (shown: ${JSON.stringify(mock.shown)})`);
  return started[0].args;
}

test('Train builds a valid `reclf train` command line', async () => {
  const argv = await runCommand('reclf.train', { quickPicks: ['gloria', '(defaults)'], inputs: ['my-run'], dialogs: [dataDir] });
  const { name, parsed } = engineParse(argv);
  assert.equal(name, 'train');
  assert.deepEqual(
    { data: parsed.flags.data, method: parsed.flags.method, out: parsed.flags.out, backend: parsed.flags.backend },
    { data: dataDir, method: 'gloria', out: path.join(tmp, 'runs', 'my-run'), backend: 'cpu' },
  );
});

test('Train from a right-clicked *.reclf.json passes it as --config', async () => {
  const cfg = path.join(tmp, 'small.reclf.json');
  const argv = await runCommand('reclf.train', { quickPicks: ['reclf'], inputs: ['cfg-run'], dialogs: [dataDir] }, Uri.file(cfg));
  assert.equal(engineParse(argv).parsed.flags.config, cfg);
});

test('Train offers the presets that can train the chosen method and passes the pick as --preset', async () => {
  const seen: string[][] = [];
  const argv = await runCommand('reclf.train', { quickPicks: ['reclf', 'preset: grounding'], inputs: ['preset-run'], dialogs: [dataDir], seen });
  assert.equal(engineParse(argv).parsed.flags.preset, 'grounding');
  assert.equal(engineParse(argv).parsed.flags.config, undefined);
  assert.deepEqual(seen[1], ['preset: grounding', 'preset: paper', '(defaults)']);
  // The grounding preset sets RECLF's fields: GLoRIA is offered the method-free preset only.
  const seenGloria: string[][] = [];
  const other = await runCommand('reclf.train', { quickPicks: ['gloria', '(defaults)'], inputs: ['g-run'], dialogs: [dataDir], seen: seenGloria });
  assert.deepEqual(seenGloria[1], ['preset: paper', '(defaults)']);
  assert.equal(engineParse(other).parsed.flags.preset, undefined);
});

test('Resume Run builds `reclf train --resume` on the run folder', async () => {
  const argv = await runCommand('reclf.resume', { quickPicks: ['r1'], inputs: [], dialogs: [dataDir] });
  const { name, parsed } = engineParse(argv);
  assert.equal(name, 'train');
  assert.equal(parsed.flags.resume, true);
  assert.equal(parsed.flags.out, runDir);
  assert.equal(parsed.flags.data, dataDir);
});

test('Evaluate Run builds a valid `reclf eval` command line', async () => {
  const argv = await runCommand('reclf.evaluate', { quickPicks: ['r1'], inputs: [], dialogs: [dataDir] });
  const { name, parsed } = engineParse(argv);
  assert.equal(name, 'eval');
  assert.equal(parsed.flags.run, runDir);
  assert.equal(parsed.flags.data, dataDir);
});

test('Run Ablation builds a valid `reclf ablate` command line', async () => {
  // Variants (multi-pick; the mock answers one), seeds, then the step budget.
  const argv = await runCommand('reclf.ablate', { quickPicks: ['reclf'], inputs: ['2', '50'], dialogs: [dataDir] });
  const { name, parsed } = engineParse(argv);
  assert.equal(name, 'ablate');
  assert.equal(parsed.flags.data, dataDir);
  assert.equal(parsed.flags.budget, 50);
  assert.equal(parsed.flags.seeds, 2);
  assert.deepEqual(parsed.flags.methods, ['reclf']);
  assert.equal(parsed.flags.backend, 'cpu');
  assert.ok(String(parsed.flags.out).startsWith(path.join(tmp, 'runs') + path.sep));
});

test('Export ONNX builds a valid `reclf export` command line', async () => {
  const argv = await runCommand('reclf.export', { quickPicks: ['r1'], inputs: [], dialogs: [] });
  const { name, parsed } = engineParse(argv);
  assert.equal(name, 'export');
  assert.equal(parsed.flags.run, runDir);
  assert.equal(parsed.flags.out, path.join(runDir, 'model.onnx'));
});

test('Generate Synthetic Dataset builds a valid `reclf synth` command line', async () => {
  // No workspace folder open: the output folder comes from a folder dialog.
  const argv = await runCommand('reclf.synth', { quickPicks: [], inputs: ['20'], dialogs: [path.join(tmp, 'synth')] });
  const { name, parsed } = engineParse(argv);
  assert.equal(name, 'synth');
  assert.equal(parsed.flags.out, path.join(tmp, 'synth'));
  assert.equal(Number(parsed.flags.n), 20);
});

test('Import Dataset builds a valid `reclf import <kind>` line for every importer', async () => {
  const csv = path.join(tmp, 'labels.csv');
  const cases: Array<{ label: string; script: Script; kind: string }> = [
    { label: 'MIMIC-CXR', kind: 'import mimic-cxr', script: { quickPicks: ['MIMIC-CXR'], inputs: [], dialogs: [tmp, path.join(tmp, 'out')] } },
    { label: 'CheXpert', kind: 'import chexpert', script: { quickPicks: ['CheXpert'], inputs: [], dialogs: [tmp, csv, path.join(tmp, 'out')] } },
    { label: 'SIIM', kind: 'import siim', script: { quickPicks: ['SIIM-ACR Pneumothorax'], inputs: [], dialogs: [tmp, csv, path.join(tmp, 'out')] } },
    { label: 'RSNA', kind: 'import rsna', script: { quickPicks: ['RSNA Pneumonia'], inputs: [], dialogs: [tmp, csv, path.join(tmp, 'out')] } },
    { label: 'CSV', kind: 'import csv', script: { quickPicks: ['CSV (image path + report text columns)'], inputs: ['path', 'findings'], dialogs: [csv, path.join(tmp, 'out')] } },
  ];
  for (const c of cases) {
    const argv = await runCommand('reclf.import', c.script);
    const { name, parsed } = engineParse(argv);
    assert.equal(name, c.kind, c.label);
    assert.equal(parsed.flags.out, path.join(tmp, 'out'), c.label);
  }
});

test('Explain builds a valid `reclf explain` line for an ONNX model, a run and an inline report', async () => {
  const seen: string[][] = [];
  const service = new ExplainService((args) => { seen.push(args); return Promise.reject(new Error('not run in this test')); }, path.join(tmp, 'explain'));
  fs.mkdirSync(path.dirname(reportFile), { recursive: true });
  fs.writeFileSync(reportFile, 'No acute cardiopulmonary process.\n');
  const model = path.join(tmp, 'model.onnx');
  await service.explain({ image, report: { file: reportFile }, model: { kind: 'onnx', path: model } }).catch(() => undefined);
  await service.explain({ image, report: { file: reportFile }, model: { kind: 'run', path: runDir } }).catch(() => undefined);
  await service.explain({ image, report: { text: 'Small left effusion.', id: 's2' }, model: { kind: 'run', path: runDir } }).catch(() => undefined);
  assert.equal(seen.length, 3);
  const [onnx, fromRun, inline] = seen.map(engineParse);
  for (const e of [onnx, fromRun, inline]) {
    assert.equal(e.name, 'explain');
    assert.equal(e.parsed.flags.image, image);
    assert.equal(e.parsed.flags.payload, true, 'explain must print the engine-extension payload');
  }
  assert.equal(onnx.parsed.flags.model, model);
  assert.equal(fromRun.parsed.flags.run, runDir);
  assert.equal(onnx.parsed.flags.report, reportFile);
  assert.equal(fs.readFileSync(String(inline.parsed.flags.report), 'utf8'), 'Small left effusion.');
});

test('the parser used here does reject a flag the engine does not declare', () => {
  assert.throws(() => engineParse(['eval', '--run', runDir, '--data', dataDir, '--dataset', dataDir]), /unknown option --dataset/);
  assert.throws(() => engineParse(['export', '--out', 'x.onnx']), /missing required option --run/);
});

test('Explain on a dataset report takes its image from the manifest (no image dialog)', async () => {
  fs.mkdirSync(path.dirname(image), { recursive: true });
  fs.writeFileSync(image, 'png bytes are not read here');
  fs.mkdirSync(path.dirname(reportFile), { recursive: true });
  fs.writeFileSync(reportFile, 'No acute cardiopulmonary process.\n');
  fs.writeFileSync(path.join(dataDir, 'manifest.jsonl'),
    JSON.stringify({ id: 's1', image: 'images/s1.png', report_file: 'reports/s1.txt', split: 'test' }) + '\n');
  mock.reset();
  installDialogs({ quickPicks: [], inputs: [], dialogs: [] });
  const asked: unknown[] = [];
  const s = services([]);
  Object.assign(s, {
    models: { current: () => ({ kind: 'onnx', path: path.join(tmp, 'model.onnx') }) },
    explain: { explain: (r: unknown) => { asked.push(r); return Promise.resolve({}); } },
    panel: { showExplanation: () => Promise.resolve() },
  });
  registerCommands(s);
  await mock.commands.get('reclf.explain')!(Uri.file(reportFile));
  assert.deepEqual(asked, [{ image, report: { file: reportFile }, model: { kind: 'onnx', path: path.join(tmp, 'model.onnx') } }]);
});

test('reclf.defaultBackend reaches the engine as --backend (train, resume, eval, ablate); auto leaves the config\'s', async () => {
  const webgpu = { defaultBackend: 'webgpu' };
  const train = engineParse(await runCommandWith(webgpu, 'reclf.train', { quickPicks: ['mlip-no-div', '(defaults)'], inputs: ['gpu-run'], dialogs: [dataDir] }));
  assert.equal(train.parsed.flags.backend, 'webgpu');
  assert.equal(train.parsed.flags.method, 'mlip-no-div');
  const resume = engineParse(await runCommandWith(webgpu, 'reclf.resume', { quickPicks: ['r1'], inputs: [], dialogs: [dataDir] }));
  assert.equal(resume.parsed.flags.resume, true);
  assert.equal(resume.parsed.flags.backend, 'webgpu');
  const ev = engineParse(await runCommandWith(webgpu, 'reclf.evaluate', { quickPicks: ['r1'], inputs: [], dialogs: [dataDir] }));
  assert.equal(ev.parsed.flags.backend, 'webgpu');
  const ab = engineParse(await runCommandWith(webgpu, 'reclf.ablate', { quickPicks: ['gloria'], inputs: ['1', '10'], dialogs: [dataDir] }));
  assert.equal(ab.parsed.flags.backend, 'webgpu');
  // auto (or no setting): no --backend, so a --config file's `backend` (or the resumed run's) applies
  for (const config of [{ defaultBackend: 'auto' }, {}]) {
    const argv = await runCommandWith(config, 'reclf.train', { quickPicks: ['reclf', '(defaults)'], inputs: ['auto-run'], dialogs: [dataDir] });
    assert.ok(!argv.includes('--backend'), JSON.stringify(argv));
    assert.equal(engineParse(argv).parsed.flags.backend, undefined);
  }
  // a value that is not a backend falls back to auto
  assert.ok(!(await runCommandWith({ defaultBackend: 'cuda' }, 'reclf.train', { quickPicks: ['reclf', '(defaults)'], inputs: ['x'], dialogs: [dataDir] })).includes('--backend'));
});

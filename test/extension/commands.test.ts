import { mock, fakeLog, Memento } from './vscode-mock';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ENGINE_COMMANDS, OTHER_COMMANDS, registerCommands, resultsTable, type Services } from '../../src/extension/commands';
import type { RunRequest } from '../../src/extension/run-manager';

const root = path.resolve(__dirname, '..', '..');

function services(started: RunRequest[]): Services {
  const runs = { start: (r: RunRequest) => { started.push(r); return Promise.resolve({ status: 'ok', events: [], stdout: [], exit: { code: 0, signal: null } }); }, running: [], isRunning: () => false, cancel: () => Promise.resolve(false) };
  const tree = { runs: () => [], ablations: () => [], refresh: () => undefined };
  return {
    runs, tree, panel: {}, explain: {}, models: { current: () => undefined, describe: () => 'no model' }, hovers: {},
    log: fakeLog(), workspaceState: new Memento(),
  } as unknown as Services;
}

test('every engine command is refused in a restricted workspace, with a message', async () => {
  mock.reset();
  mock.trusted = false;
  const started: RunRequest[] = [];
  registerCommands(services(started));
  for (const [id, title] of Object.entries(ENGINE_COMMANDS)) {
    mock.shown = [];
    await mock.commands.get(id)!();
    assert.equal(mock.shown.length, 1, id);
    assert.equal(mock.shown[0].level, 'warning');
    assert.ok(mock.shown[0].message.includes(title) && mock.shown[0].message.includes('restricted workspace'), mock.shown[0].message);
  }
  assert.equal(started.length, 0);
});

test('Cancel Run with nothing running says so; commands work again once trusted', async () => {
  mock.reset();
  registerCommands(services([]));
  await mock.commands.get('reclf.cancel')!();
  assert.match(mock.shown[0].message, /nothing is running/);
  mock.shown = [];
  // Explain with no model asks the user to select one (no engine started, no restriction message).
  await mock.commands.get('reclf.explain')!();
  assert.match(mock.shown[0].message, /no model selected/);
  assert.deepEqual(mock.shown[0].items, ['Select Model']);
});

test('eval results become a table with one column per metric', () => {
  const t = resultsTable('Evaluation: r1', [
    { type: 'eval_result', task: 'retrieval', metrics: { 'i2t@1': 0.4, 't2i@1': 0.35 } },
    { type: 'progress', step: 1, total_steps: 2, epoch: 0, loss: 1, lr: 0, items_per_s: 0, eta_s: 0 },
    { type: 'eval_result', task: 'classification', metrics: { auc: 0.81 } },
  ])!;
  assert.deepEqual(t.columns, ['task', 'i2t@1', 't2i@1', 'auc']);
  assert.deepEqual(t.rows, [['retrieval', 0.4, 0.35, null], ['classification', null, null, 0.81]]);
  assert.equal(resultsTable('x', []), undefined);
});

test('package.json contributes every command, the views, settings, trust and schema', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const c = pkg.contributes;
  const ids = new Set(c.commands.map((x: { command: string }) => x.command));
  for (const id of [...Object.keys(ENGINE_COMMANDS), ...Object.keys(OTHER_COMMANDS)]) assert.ok(ids.has(id), `${id} contributed`);
  const titles = c.commands.map((x: { category?: string; title: string }) => `${x.category}: ${x.title}`);
  for (const t of ['Generate Synthetic Dataset', 'Import Dataset', 'Train', 'Resume Run', 'Cancel Run', 'Evaluate Run', 'Run Ablation',
    'Export ONNX', 'Explain Image + Report', 'Open Visualisation Panel', 'Select Model', 'Show Engine Log']) assert.ok(titles.includes(`RECLF: ${t}`), t);
  assert.equal(pkg.main, './dist/extension.js');
  assert.ok(c.menus['explorer/context'].some((m: { command: string; when: string }) => m.command === 'reclf.train' && m.when.includes('reclf\\.json')));
  assert.ok(c.views.reclf.some((v: { id: string; type?: string }) => v.id === 'reclf.panel' && v.type === 'webview'));
  assert.ok(c.views.reclf.some((v: { id: string }) => v.id === 'reclf.runs'));
  const props = c.configuration.properties;
  assert.equal(props['reclf.nodePath'].scope, 'machine-overridable');
  assert.equal(props['reclf.engineArgs'].scope, 'machine-overridable');
  for (const k of ['reclf.defaultBackend', 'reclf.runsFolder', 'reclf.defaultMethod', 'reclf.defaultConfig']) assert.ok(props[k], k);
  assert.deepEqual(pkg.capabilities.untrustedWorkspaces.restrictedConfigurations, ['reclf.nodePath', 'reclf.engineArgs', 'reclf.slurm.binDir', 'reclf.slurm.args']);
  for (const k of ['reclf.slurm.binDir', 'reclf.slurm.args']) assert.equal(props[k].scope, 'machine-overridable', k);
  // Remote-SSH: the extension (and the engine, sbatch) run on the workspace side, e.g. a login node.
  assert.deepEqual(pkg.extensionKind, ['workspace']);
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.deepEqual(c.jsonValidation, [{ fileMatch: '*.reclf.json', url: './schemas/reclf-config.schema.json' }]);
  assert.ok(fs.existsSync(path.join(root, 'schemas', 'reclf-config.schema.json')));
  assert.ok(fs.existsSync(path.join(root, c.viewsContainers.activitybar[0].icon)));
});

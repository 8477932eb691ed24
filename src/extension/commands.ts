// Every `reclf.*` command. Handlers that start the engine are wrapped by `trusted` (refused in a
// restricted workspace); pickers fall back to folder/file dialogs so nothing needs a terminal.
import * as vscode from 'vscode';
import fs from 'node:fs';
import path from 'node:path';
import type { EngineEvent } from '../protocol/events';
import type { TableData } from '../protocol/webview-messages';
import type { ExplainService, ModelRef } from './explain-service';
import { payloadFor, SHOW_WORD_COMMAND, type ReportHoverProvider, type ShowWordArgs } from './hover-provider';
import type { ModelSelection } from './model-selection';
import type { PanelProvider } from './panel';
import { pairingForReportFile } from './report-source';
import { readDetectionPreview } from './detection-preview';
import type { RunManager, RunOutcome } from './run-manager';
import type { RunItem, RunsTreeProvider } from './runs-tree';
import type { RunInfo } from './run-info';
import { backendArgs, METHOD_CHOICES, readSettings } from './settings';
import { trusted } from './trust';

export interface Services {
  runs: RunManager;
  tree: RunsTreeProvider;
  panel: PanelProvider;
  explain: ExplainService;
  models: ModelSelection;
  hovers: ReportHoverProvider;
  log: vscode.LogOutputChannel;
  workspaceState: vscode.Memento;
}

/** Commands that run the engine: refused in a restricted workspace. */
export const ENGINE_COMMANDS = {
  'reclf.synth': 'Generate Synthetic Dataset',
  'reclf.import': 'Import Dataset',
  'reclf.train': 'Train',
  'reclf.resume': 'Resume Run',
  'reclf.evaluate': 'Evaluate Run',
  'reclf.ablate': 'Run Ablation',
  'reclf.export': 'Export ONNX',
  'reclf.explain': 'Explain Image + Report',
} as const;

export const OTHER_COMMANDS = {
  'reclf.cancel': 'Cancel Run',
  'reclf.openPanel': 'Open Visualisation Panel',
  'reclf.selectModel': 'Select Model',
  'reclf.showLog': 'Show Engine Log',
  'reclf.openRunFolder': 'Open Run Folder',
  'reclf.deleteRun': 'Delete Run',
  'reclf.refreshRuns': 'Refresh Runs',
  [SHOW_WORD_COMMAND]: 'Show Word in Panel',
} as const;

const RUN_DATA_KEY = 'reclf.runData';
const IMAGE_FILTERS = { Images: ['png', 'jpg', 'jpeg', 'dcm', 'dicom'] };

// ---- pickers -----------------------------------------------------------------------------

async function pickFolder(title: string): Promise<string | undefined> {
  const r = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, title, openLabel: 'Select' });
  return r?.[0]?.fsPath;
}

async function pickFile(title: string, filters?: Record<string, string[]>): Promise<string | undefined> {
  const r = await vscode.window.showOpenDialog({ canSelectFiles: true, canSelectFolders: false, canSelectMany: false, title, filters });
  return r?.[0]?.fsPath;
}

function workspaceRoot(): string | undefined {
  return vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
}

async function pickDataset(): Promise<string | undefined> {
  const found = await vscode.workspace.findFiles('**/manifest.jsonl', '**/node_modules/**', 50);
  const browse = 'Browse…';
  const items = [...found.map((u) => path.dirname(u.fsPath)), browse];
  const choice = items.length === 1 ? browse : await vscode.window.showQuickPick(items, { title: 'RECLF: dataset folder (with manifest.jsonl)' });
  if (choice === browse) return pickFolder('Dataset folder (with manifest.jsonl)');
  return choice;
}

async function pickRun(tree: RunsTreeProvider, title: string, filter: (r: RunInfo) => boolean = () => true): Promise<RunInfo | undefined> {
  const runs = tree.runs().filter(filter);
  if (!runs.length) {
    void vscode.window.showInformationMessage(`RECLF: no suitable run under ${readSettings().runsFolder ?? 'the runs folder'}.`);
    return undefined;
  }
  const pick = await vscode.window.showQuickPick(runs.map((r) => ({ label: r.name, description: `${r.method ?? ''} ${r.status}`, run: r })), { title });
  return pick?.run;
}

/** A run from a tree item (context menu) or a quick pick (palette). */
async function runFrom(s: Services, item: RunItem | undefined, title: string, filter?: (r: RunInfo) => boolean): Promise<RunInfo | undefined> {
  return item?.run ?? pickRun(s.tree, title, filter);
}

// ---- helpers -------------------------------------------------------------------------------

/** eval / ablate results as a table: one row per task, one column per metric. */
export function resultsTable(title: string, events: EngineEvent[], highlightBest = false): TableData | undefined {
  const results = events.filter((e): e is Extract<EngineEvent, { type: 'eval_result' }> => e.type === 'eval_result');
  if (!results.length) return undefined;
  const metrics = [...new Set(results.flatMap((r) => Object.keys(r.metrics)))];
  return {
    title, columns: ['task', ...metrics], highlightBest,
    rows: results.map((r) => [r.task, ...metrics.map((m) => (typeof r.metrics[m] === 'number' ? r.metrics[m] : null))]),
  };
}

function rememberData(s: Services, runDir: string, dataDir: string): void {
  const map = { ...s.workspaceState.get<Record<string, string>>(RUN_DATA_KEY, {}), [path.resolve(runDir)]: dataDir };
  void s.workspaceState.update(RUN_DATA_KEY, map);
}

function dataOf(s: Services, runDir: string): string | undefined {
  return s.workspaceState.get<Record<string, string>>(RUN_DATA_KEY, {})[path.resolve(runDir)];
}

function ok(o: RunOutcome): boolean {
  return o.status === 'ok';
}

// ---- commands ------------------------------------------------------------------------------

async function synth(s: Services): Promise<void> {
  const root = workspaceRoot();
  const out = root
    ? await vscode.window.showInputBox({ title: 'RECLF: synthetic dataset folder', value: path.join(root, 'data', 'synth') })
    : await pickFolder('Folder for the synthetic dataset');
  if (!out) return;
  const n = await vscode.window.showInputBox({ title: 'Number of studies', value: '200', validateInput: (v) => (/^[1-9]\d*$/.test(v) ? undefined : 'a positive integer') });
  if (!n) return;
  const o = await s.runs.start({ title: 'Generate synthetic dataset', args: ['synth', '--out', out, '--n', n, '--json'] });
  if (ok(o)) void vscode.window.showInformationMessage(`RECLF: synthetic dataset written to ${out}.`);
}

const IMPORTERS = [
  { label: 'MIMIC-CXR', id: 'mimic-cxr', csv: undefined },
  { label: 'CheXpert', id: 'chexpert', csv: 'train.csv or valid.csv' },
  { label: 'SIIM-ACR Pneumothorax', id: 'siim', csv: 'train-rle.csv' },
  { label: 'RSNA Pneumonia', id: 'rsna', csv: 'stage_2_train_labels.csv' },
  { label: 'CSV (image path + report text columns)', id: 'csv', csv: 'the CSV file' },
] as const;

async function importDataset(s: Services): Promise<void> {
  const kind = await vscode.window.showQuickPick(IMPORTERS.map((i) => ({ ...i })), { title: 'RECLF: import which dataset?' });
  if (!kind) return;
  const args = ['import', kind.id];
  if (kind.id === 'csv') {
    const file = await pickFile('The CSV file', { CSV: ['csv'] });
    if (!file) return;
    const imageCol = await vscode.window.showInputBox({ title: 'Column with image paths', value: 'image' });
    const textCol = imageCol && await vscode.window.showInputBox({ title: 'Column with report text', value: 'report' });
    if (!imageCol || !textCol) return;
    args.push('--file', file, '--image-col', imageCol, '--text-col', textCol);
  } else {
    const root = await pickFolder(`${kind.label} root folder`);
    if (!root) return;
    args.push('--root', root);
    if (kind.csv) {
      const csv = await pickFile(`${kind.label}: ${kind.csv}`, { CSV: ['csv'] });
      if (!csv) return;
      args.push('--csv', csv);
    }
  }
  const out = await pickFolder('Output dataset folder');
  if (!out) return;
  args.push('--out', out);
  const o = await s.runs.start({ title: `Import ${kind.label}`, args });
  if (ok(o)) void vscode.window.showInformationMessage(`RECLF: ${kind.label} imported into ${out}.`);
}

async function train(s: Services, configUri?: vscode.Uri): Promise<void> {
  const settings = readSettings();
  const data = await pickDataset();
  if (!data) return;
  const method = await vscode.window.showQuickPick(
    [settings.defaultMethod, ...METHOD_CHOICES.filter((m) => m !== settings.defaultMethod)], { title: 'RECLF: alignment method' });
  if (!method) return;
  let config = configUri?.fsPath;
  if (!config) {
    const found = await vscode.workspace.findFiles('**/*.reclf.json', '**/node_modules/**', 50);
    const none = '(defaults)';
    const candidates = [...new Set([settings.defaultConfig, ...found.map((u) => u.fsPath)].filter((c): c is string => !!c && fs.existsSync(c)))];
    if (candidates.length) {
      const pick = await vscode.window.showQuickPick([...candidates, none], { title: 'RECLF: config' });
      if (!pick) return;
      config = pick === none ? undefined : pick;
    }
  }
  if (!settings.runsFolder) {
    void vscode.window.showErrorMessage('RECLF: set reclf.runsFolder or open a workspace folder.');
    return;
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const name = await vscode.window.showInputBox({ title: 'Run name', value: `${method}-${stamp}`, validateInput: (v) => (/^[\w.-]+$/.test(v) ? undefined : 'letters, digits, . _ - only') });
  if (!name) return;
  const runDir = path.join(settings.runsFolder, name);
  rememberData(s, runDir, data);
  const args = ['train', '--data', data, '--method', method, '--out', runDir, ...backendArgs(settings.defaultBackend)];
  if (config) args.push('--config', config);
  s.tree.refresh();
  const o = await s.runs.start({ title: `Train ${name}`, args, runDir });
  s.tree.refresh();
  if (ok(o)) void vscode.window.showInformationMessage(`RECLF: run ${name} finished.`);
}

async function resume(s: Services, item?: RunItem): Promise<void> {
  const run = await runFrom(s, item, 'RECLF: resume which run?', (r) => r.status !== 'running' && r.hasCheckpoint);
  if (!run) return;
  const data = dataOf(s, run.dir) ?? await pickDataset();
  if (!data) return;
  rememberData(s, run.dir, data);
  const args = ['train', '--resume', '--data', data, '--out', run.dir, ...backendArgs(readSettings().defaultBackend)];
  await s.runs.start({ title: `Resume ${run.name}`, args, runDir: run.dir });
  s.tree.refresh();
}

async function cancel(s: Services, item?: RunItem): Promise<void> {
  if (item?.run) {
    await s.runs.cancel(item.run.dir);
    return;
  }
  const running = s.runs.running;
  if (!running.length) {
    void vscode.window.showInformationMessage('RECLF: nothing is running.');
    return;
  }
  const pick = running.length === 1 ? running[0]
    : (await vscode.window.showQuickPick(running.map((r) => ({ label: r.title, description: `pid ${r.pid}`, r })), { title: 'Cancel which run?' }))?.r;
  if (pick) await s.runs.cancel(pick.key);
}

async function evaluate(s: Services, item?: RunItem): Promise<void> {
  const run = await runFrom(s, item, 'RECLF: evaluate which run?', (r) => r.status !== 'running');
  if (!run) return;
  const data = await pickDataset();
  if (!data) return;
  const o = await s.runs.start({ title: `Evaluate ${run.name}`, args: ['eval', '--run', run.dir, '--data', data, ...backendArgs(readSettings().defaultBackend)] });
  s.tree.refresh();
  const table = resultsTable(`Evaluation: ${run.name}`, o.events);
  if (table) s.panel.showTable(table);
  const boxes = readDetectionPreview(run.dir);
  if (boxes) s.panel.showDetectionPreview(boxes);
  if (table || boxes) await s.panel.reveal();
}

async function ablate(s: Services): Promise<void> {
  const settings = readSettings();
  const data = await pickDataset();
  if (!data || !settings.runsFolder) return;
  // The engine requires one step budget shared by every variant (a fair comparison).
  const budget = await vscode.window.showInputBox({ title: 'RECLF: optimizer steps per variant and seed', value: '300', validateInput: (v) => (/^[1-9]\d*$/.test(v) ? undefined : 'a positive integer') });
  if (!budget) return;
  const out = path.join(settings.runsFolder, `ablation-${Date.now().toString(36)}`);
  const o = await s.runs.start({ title: 'Ablation', args: ['ablate', '--data', data, '--budget', budget, '--out', out, ...backendArgs(settings.defaultBackend)] });
  s.tree.refresh();
  const table = resultsTable('Ablation', o.events, true);
  if (table) {
    s.panel.showTable(table);
    await s.panel.reveal();
  }
}

async function exportOnnx(s: Services, item?: RunItem): Promise<void> {
  const run = await runFrom(s, item, 'RECLF: export which run?', (r) => r.hasCheckpoint && r.status !== 'running');
  if (!run) return;
  const out = path.join(run.dir, 'model.onnx');
  const o = await s.runs.start({ title: `Export ${run.name}`, args: ['export', '--run', run.dir, '--out', out] });
  s.tree.refresh();
  if (ok(o)) {
    const use = await vscode.window.showInformationMessage(`RECLF: exported ${out}.`, 'Use for Explanations');
    if (use) await setModel(s, { kind: 'onnx', path: out });
  }
}

async function setModel(s: Services, m: ModelRef | undefined): Promise<void> {
  await s.models.select(m);
  s.explain.clear();
  s.hovers.reset();
}

async function explain(s: Services, arg?: vscode.Uri | RunItem): Promise<void> {
  let model = s.models.current();
  if (arg && 'run' in arg) model = arg.run.hasOnnx ? { kind: 'onnx', path: path.join(arg.run.dir, 'model.onnx') } : { kind: 'run', path: arg.run.dir };
  if (!model) {
    const pick = await vscode.window.showWarningMessage('RECLF: no model selected and no bundled model found.', 'Select Model');
    if (pick) await vscode.commands.executeCommand('reclf.selectModel');
    model = s.models.current();
    if (!model) return;
  }
  const active = vscode.window.activeTextEditor?.document;
  const reportFromEditor = active && active.uri.scheme === 'file' && active.fileName.endsWith('.txt') && !active.isDirty ? active.fileName : undefined;
  const knownReport = arg instanceof vscode.Uri && arg.fsPath.endsWith('.txt') ? arg.fsPath : reportFromEditor;
  // A dataset report already names its image in the manifest: no dialog for a new user to get wrong.
  const paired = knownReport ? pairingForReportFile(knownReport)?.image : undefined;
  const image = arg instanceof vscode.Uri && /\.(png|jpe?g|dcm|dicom)$/i.test(arg.fsPath) ? arg.fsPath
    : paired && fs.existsSync(paired) ? paired : await pickFile('X-ray image', IMAGE_FILTERS);
  if (!image) return;
  const reportFile = knownReport ?? await pickFile('Report (.txt)', { Reports: ['txt'] });
  if (!reportFile) return;
  try {
    const payload = await s.explain.explain({ image, report: { file: reportFile }, model });
    await s.panel.showExplanation(payload);
  } catch (err) {
    // The run manager already showed the engine's error with "Open Log".
    s.log.error(`explain: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function selectModel(s: Services): Promise<void> {
  const bundled = { label: 'Bundled default model', model: undefined as ModelRef | undefined };
  const fromRuns = s.tree.runs().filter((r) => r.hasOnnx || r.hasCheckpoint).map((r) => ({
    label: r.name, description: r.hasOnnx ? 'model.onnx' : 'checkpoint',
    model: (r.hasOnnx ? { kind: 'onnx', path: path.join(r.dir, 'model.onnx') } : { kind: 'run', path: r.dir }) as ModelRef,
  }));
  const browse = { label: 'Browse for an .onnx file…', model: undefined as ModelRef | undefined };
  const pick = await vscode.window.showQuickPick([bundled, ...fromRuns, browse], { title: `RECLF: model for explanations (now: ${s.models.describe()})` });
  if (!pick) return;
  let model = pick.model;
  if (pick === browse) {
    const file = await pickFile('ONNX model', { ONNX: ['onnx'] });
    if (!file) return;
    model = { kind: 'onnx', path: file };
  }
  await setModel(s, model);
  void vscode.window.showInformationMessage(`RECLF: explanations now use ${s.models.describe()}.`);
}

async function deleteRun(s: Services, item?: RunItem): Promise<void> {
  const run = await runFrom(s, item, 'RECLF: delete which run?', (r) => r.status !== 'running');
  if (!run) return;
  if (s.runs.isRunning(run.dir)) {
    void vscode.window.showWarningMessage(`RECLF: ${run.name} is running; cancel it first.`);
    return;
  }
  const answer = await vscode.window.showWarningMessage(`Delete run "${run.name}" and all its files?`, { modal: true, detail: run.dir }, 'Delete');
  if (answer !== 'Delete') return;
  fs.rmSync(run.dir, { recursive: true, force: true });
  s.tree.refresh();
}

async function showWord(s: Services, args?: ShowWordArgs): Promise<void> {
  if (!args?.request) return;
  const payload = await payloadFor(s.explain, args);
  await s.panel.showExplanation(payload, args.index);
}

export function registerCommands(s: Services): vscode.Disposable[] {
  const reg = (id: string, fn: (...args: never[]) => unknown): vscode.Disposable => vscode.commands.registerCommand(id, fn);
  const guarded = <A extends unknown[]>(id: keyof typeof ENGINE_COMMANDS, fn: (...args: A) => unknown): vscode.Disposable =>
    reg(id, trusted(ENGINE_COMMANDS[id], fn) as (...args: never[]) => unknown);
  return [
    guarded('reclf.synth', () => synth(s)),
    guarded('reclf.import', () => importDataset(s)),
    guarded('reclf.train', (uri?: vscode.Uri) => train(s, uri instanceof vscode.Uri ? uri : undefined)),
    guarded('reclf.resume', (item?: RunItem) => resume(s, item)),
    guarded('reclf.evaluate', (item?: RunItem) => evaluate(s, item)),
    guarded('reclf.ablate', () => ablate(s)),
    guarded('reclf.export', (item?: RunItem) => exportOnnx(s, item)),
    guarded('reclf.explain', (arg?: vscode.Uri | RunItem) => explain(s, arg)),
    reg('reclf.cancel', (item?: RunItem) => cancel(s, item)),
    reg('reclf.openPanel', () => s.panel.reveal()),
    reg('reclf.selectModel', () => selectModel(s)),
    reg('reclf.showLog', () => s.log.show()),
    reg('reclf.openRunFolder', (item?: RunItem) => (item ? vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(item.run.dir)) : undefined)),
    reg('reclf.deleteRun', (item?: RunItem) => deleteRun(s, item)),
    reg('reclf.refreshRuns', () => s.tree.refresh()),
    // Hover links need an engine only when the cache was dropped; guard like the other runs.
    reg(SHOW_WORD_COMMAND, trusted('Show in panel', (args?: ShowWordArgs) => showWord(s, args)) as (...args: never[]) => unknown),
  ];
}

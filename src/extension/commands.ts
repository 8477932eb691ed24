// Every `reclf.*` command. Handlers that start the engine are wrapped by `trusted` (refused in a
// restricted workspace); pickers fall back to folder/file dialogs so nothing needs a terminal.
import * as vscode from 'vscode';
import fs from 'node:fs';
import path from 'node:path';
import type { EngineEvent } from '../protocol/events';
import type { StudyRef, TableData } from '../protocol/webview-messages';
import type { ExplainService, ModelRef } from './explain-service';
import { payloadFor, SHOW_WORD_COMMAND, type ReportHoverProvider, type ShowWordArgs } from './hover-provider';
import type { ModelSelection } from './model-selection';
import type { PanelProvider } from './panel';
import { pairingForReportFile } from './report-source';
import { readDetectionPreview } from './detection-preview';
import type { RunManager, RunOutcome } from './run-manager';
import type { RunsTreeProvider } from './runs-tree';
import type { RunInfo } from './run-info';
import type { PanelFeed } from './panel-feed';
import { ablationTable, compareTable, readRunResults, resultsFromEvents } from './results';
import { firstWords, labelCounts, readStudies, studyReport, type Study } from './dataset-studies';
import { EXPLAIN_STUDY_COMMAND, type ExplainStudyArgs } from './manifest-codelens';
import type { StudyDocuments } from './study-documents';
import { budgetWarning, countTrainStudies, trainingBudget } from './train-budget';
import { backendArgs, METHOD_CHOICES, readSettings } from './settings';
import { PRESETS, presetsFor, type PresetName } from '../protocol/presets';
import { cancelJobsArgs, findSlurm, pickExecutor, slurmArgs, submittedToSlurm } from './slurm';
import { trusted } from './trust';

/** What the run commands accept from the tree: a run item, an ablation cell or group (all carry `run`). */
export interface RunArg {
  run?: RunInfo;
  /** The ablation a cell belongs to (tree cells). */
  ablation?: RunInfo;
}

export interface Services {
  runs: RunManager;
  tree: RunsTreeProvider;
  panel: PanelProvider;
  explain: ExplainService;
  models: ModelSelection;
  hovers: ReportHoverProvider;
  log: vscode.LogOutputChannel;
  workspaceState: vscode.Memento;
  /** Run focus of the panel (optional: absent in tests of single commands). */
  feed?: PanelFeed;
  /** Virtual report documents (dataset studies, typed reports). */
  studies?: StudyDocuments;
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
  [EXPLAIN_STUDY_COMMAND]: 'Explain a Study from a Dataset',
  'reclf.nextStudy': 'Explain Next Study',
  'reclf.previousStudy': 'Explain Previous Study',
} as const;

export const OTHER_COMMANDS = {
  'reclf.cancel': 'Cancel Run',
  'reclf.openPanel': 'Open Visualisation Panel',
  'reclf.selectModel': 'Select Model',
  'reclf.showLog': 'Show Engine Log',
  'reclf.openRunFolder': 'Open Run Folder',
  'reclf.deleteRun': 'Delete Run',
  'reclf.refreshRuns': 'Refresh Runs',
  'reclf.showRun': 'Show Run in Panel',
  'reclf.showResults': 'Show Results',
  'reclf.compareRuns': 'Compare Runs',
  'reclf.showAblation': 'Show Ablation Table',
  'reclf.showBackendProbes': 'Show Backend Probes',
  [SHOW_WORD_COMMAND]: 'Show Word in Panel',
} as const;

/** The synthetic dataset size the palette offers: what the default config learns from (see README). */
export const DEFAULT_SYNTH_STUDIES = 10000;
/** The engine's default ablation variants (`reclf ablate --methods`). */
const ABLATION_METHODS = ['convirt', 'gloria', 'mgca', 'reclf', 'reclf-no-srm', 'reclf-no-irm'];

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
async function runFrom(s: Services, item: RunArg | undefined, title: string, filter?: (r: RunInfo) => boolean): Promise<RunInfo | undefined> {
  return item?.run ?? pickRun(s.tree, title, filter);
}

/** A short status-bar note for a flow the user left (Escape), so it does not end in silence. */
function abandoned(what: string): void {
  vscode.window.setStatusBarMessage?.(`RECLF: ${what} cancelled`, 4000);
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
  const n = await vscode.window.showInputBox({
    title: 'Number of studies', value: String(DEFAULT_SYNTH_STUDIES),
    prompt: `${DEFAULT_SYNTH_STUDIES} studies are enough for the default config to learn from; a few hundred overfit within an epoch or two.`,
    validateInput: (v) => (/^[1-9]\d*$/.test(v) ? undefined : 'a positive integer'),
  });
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

/**
 * Offers the found *.reclf.json configs, the given presets and the defaults; undefined = the user
 * left the picker.
 */
async function pickConfig(defaultConfig: string | undefined, offered: readonly PresetName[] = []): Promise<{ config?: string; preset?: PresetName } | undefined> {
  const found = await vscode.workspace.findFiles('**/*.reclf.json', '**/node_modules/**', 50);
  const none = '(defaults)';
  const candidates = [...new Set([defaultConfig, ...found.map((u) => u.fsPath)].filter((c): c is string => !!c && fs.existsSync(c)))];
  const presets = offered.map((p) => ({ label: `preset: ${p}`, description: PRESETS[p].help, preset: p }));
  if (!candidates.length && !presets.length) return {};
  const items = [...candidates.map((c) => ({ label: c, config: c })), ...presets, { label: none }];
  const pick = await vscode.window.showQuickPick(items, { title: 'RECLF: config' });
  if (!pick) return undefined;
  return 'config' in pick ? { config: pick.config } : 'preset' in pick ? { preset: pick.preset } : {};
}

/**
 * Warns before a run that would pass over a small training split too often (it overfits), with
 * what to do; resolves false when the user chose not to start it. Reads the resolved config from
 * the engine itself (`--print-config`), so the check follows the engine's defaults.
 */
async function budgetOk(s: Services, data: string, args: string[]): Promise<boolean> {
  let trainStudies = 0;
  try { trainStudies = countTrainStudies(fs.readFileSync(path.join(data, 'manifest.jsonl'), 'utf8')); } catch { return true; }
  if (trainStudies === 0) return true; // the engine reports an empty split itself
  const o = await s.runs.start({ title: 'Resolve config', args: [...args, '--print-config'], silent: true });
  let config: { train?: Record<string, unknown> } | undefined;
  try { config = JSON.parse(o.stdout.join('\n')) as typeof config; } catch { return true; }
  const budget = config && trainingBudget(config, trainStudies);
  const warning = budget && budgetWarning(budget);
  if (!warning) return true;
  const choice = await vscode.window.showWarningMessage(`RECLF: ${warning}`, { modal: true }, 'Train Anyway', 'Generate Larger Dataset');
  if (choice === 'Generate Larger Dataset') void vscode.commands.executeCommand('reclf.synth');
  return choice === 'Train Anyway';
}

/** The notification after a training run: what it reached, and the next steps. */
async function announceTrained(s: Services, runDir: string, name: string, o: RunOutcome): Promise<void> {
  const summary = [...o.events].reverse().find((e) => e.type === 'run_finished');
  const step = summary?.type === 'run_finished' && typeof summary.summary.step === 'number' ? ` at step ${summary.summary.step}` : '';
  const choice = await vscode.window.showInformationMessage(`RECLF: run ${name} finished${step}.`, 'Evaluate', 'Explain', 'Open Panel');
  const arg: RunArg = { run: s.tree.runs().find((r) => path.resolve(r.dir) === path.resolve(runDir)) };
  if (choice === 'Evaluate') await vscode.commands.executeCommand('reclf.evaluate', arg.run ? arg : undefined);
  else if (choice === 'Explain') await vscode.commands.executeCommand(EXPLAIN_STUDY_COMMAND);
  else if (choice === 'Open Panel') { s.feed?.focusRun(runDir); await s.panel.reveal(); }
}

async function train(s: Services, configUri?: vscode.Uri): Promise<void> {
  const settings = readSettings();
  const data = await pickDataset();
  if (!data) return abandoned('Train');
  const method = await vscode.window.showQuickPick(
    [settings.defaultMethod, ...METHOD_CHOICES.filter((m) => m !== settings.defaultMethod)], { title: 'RECLF: alignment method' });
  if (!method) return abandoned('Train');
  let config = configUri?.fsPath;
  let preset: PresetName | undefined;
  if (!config) {
    const picked = await pickConfig(settings.defaultConfig, presetsFor(method));
    if (!picked) return abandoned('Train');
    ({ config, preset } = picked);
  }
  if (!settings.runsFolder) {
    void vscode.window.showErrorMessage('RECLF: set reclf.runsFolder or open a workspace folder.');
    return;
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  const name = await vscode.window.showInputBox({ title: 'Run name', value: `${method}-${stamp}`, validateInput: (v) => (/^[\w.-]+$/.test(v) ? undefined : 'letters, digits, . _ - only') });
  if (!name) return abandoned('Train');
  const runDir = path.join(settings.runsFolder, name);
  const args = ['train', '--data', data, '--method', method, '--out', runDir, ...backendArgs(settings.defaultBackend)];
  if (config) args.push('--config', config);
  if (preset) args.push('--preset', preset);
  const slurm = findSlurm(settings.slurmBinDir);
  const executor = await pickExecutor(slurm, name);
  if (!executor) return abandoned('Train');
  if (!(await budgetOk(s, data, args))) return abandoned('Train');
  rememberData(s, runDir, data);
  if (executor === 'slurm' && slurm) {
    // sbatch returns at once; the job writes RUN/events.jsonl on its node and the store follows it.
    const o = await s.runs.start({ title: `Submit ${name} to Slurm`, args: [...args, ...slurmArgs(slurm, settings.slurmArgs, false)], kind: 'train' });
    s.feed?.focusRun(runDir);
    s.tree.refresh();
    if (ok(o)) void vscode.window.showInformationMessage(`RECLF: run ${name} submitted to Slurm; the runs tree follows it (cancel there: scancel).`);
    return;
  }
  const started = s.runs.start({ title: `Train ${name}`, args, runDir, kind: 'train' });
  // The tree and the panel follow the new run from its first event (no refresh needed).
  s.feed?.focusRun(runDir);
  s.tree.refresh();
  const o = await started;
  s.tree.refresh();
  if (ok(o)) await announceTrained(s, runDir, name, o);
}

async function resume(s: Services, item?: RunArg): Promise<void> {
  const run = await runFrom(s, item, 'RECLF: resume which run?', (r) => r.status !== 'running' && r.hasCheckpoint);
  if (!run) return;
  const data = dataOf(s, run.dir) ?? await pickDataset();
  if (!data) return abandoned('Resume');
  rememberData(s, run.dir, data);
  const args = ['train', '--resume', '--data', data, '--out', run.dir, ...backendArgs(readSettings().defaultBackend)];
  const started = s.runs.start({ title: `Resume ${run.name}`, args, runDir: run.dir, kind: 'train' });
  s.feed?.focusRun(run.dir);
  const o = await started;
  s.tree.refresh();
  if (ok(o)) await announceTrained(s, run.dir, run.name, o);
}

/**
 * Stops the job in `dir`. A folder handed to Slurm is cancelled through the engine
 * (`reclf jobs DIR --cancel` -> scancel; checkpoints stay, `reclf ablate` resubmits later); the
 * process this window follows it with, if any, is stopped as well.
 */
async function cancelIn(s: Services, dir: string): Promise<void> {
  if (submittedToSlurm(dir)) {
    await s.runs.start({ title: `Cancel Slurm jobs of ${path.basename(dir)}`, args: cancelJobsArgs(dir, readSettings().slurmBinDir) });
  }
  await s.runs.cancel(dir);
  s.tree.refresh();
}

/** Slurm jobs of the runs folder still queued or running that no process of this window follows. */
function unfollowedSlurmJobs(s: Services): Array<{ label: string; dir: string }> {
  const entries = [...s.tree.ablations(), ...s.tree.runs()];
  return entries
    .filter((e) => (e.job.state === 'running' || e.job.state === 'requeued') && !s.runs.isRunning(e.dir) && submittedToSlurm(e.dir))
    .map((e) => ({ label: e.name, dir: e.dir }));
}

async function cancel(s: Services, item?: RunArg): Promise<void> {
  // `reclf jobs --cancel` stops a Slurm grid as a whole; a cell's Cancel says so first.
  if (item?.ablation && submittedToSlurm(item.ablation.dir)) {
    const all = 'Cancel All Tasks';
    const choice = await vscode.window.showWarningMessage(
      `RECLF: ${item.ablation.name} runs on Slurm; cancelling stops all its queued and running tasks (checkpoints stay; Run Ablation again resubmits them).`,
      { modal: true }, all);
    if (choice === all) await cancelIn(s, item.ablation.dir);
    return;
  }
  if (item?.run) {
    await cancelIn(s, item.run.dir);
    return;
  }
  const choices = [
    ...s.runs.running.map((r) => ({ label: r.title, description: `pid ${r.pid}`, key: r.key, dir: r.runDir })),
    ...unfollowedSlurmJobs(s).map((j) => ({ label: j.label, description: 'Slurm', key: undefined, dir: j.dir })),
  ];
  if (!choices.length) {
    void vscode.window.showInformationMessage('RECLF: nothing is running.');
    return;
  }
  const pick = choices.length === 1 ? choices[0] : await vscode.window.showQuickPick(choices, { title: 'Cancel which run?' });
  if (!pick) return;
  if (pick.dir) await cancelIn(s, pick.dir);
  else if (pick.key) await s.runs.cancel(pick.key);
}

async function evaluate(s: Services, item?: RunArg): Promise<void> {
  const run = await runFrom(s, item, 'RECLF: evaluate which run?', (r) => r.status !== 'running' && r.hasCheckpoint !== false);
  if (!run) return;
  const data = dataOf(s, run.dir) ?? await pickDataset();
  if (!data) return abandoned('Evaluate');
  s.feed?.focusRun(run.dir);
  const o = await s.runs.start({
    title: `Evaluate ${run.name}`, kind: 'eval', folder: run.dir,
    args: ['eval', '--run', run.dir, '--data', data, ...backendArgs(readSettings().defaultBackend)],
  });
  s.tree.refresh();
  // The published files are the results; the job's own events stand in when none were written.
  const shown = s.feed?.showResults(run.dir) ?? false;
  if (!shown) {
    const results = resultsFromEvents(run.name, Object.fromEntries(o.events.filter((e) => e.type === 'eval_result').map((e) => [e.task, e.metrics])));
    if (results.tasks.length) s.panel.showResults({ type: 'results', title: `Evaluation: ${run.name}`, runs: [results] });
    const boxes = readDetectionPreview(run.dir);
    if (boxes) s.panel.showDetectionPreview(boxes);
  }
  if (!ok(o)) return;
  const n = o.events.filter((e) => e.type === 'eval_result').length;
  const choice = await vscode.window.showInformationMessage(`RECLF: evaluation of ${run.name} finished (${n} task${n === 1 ? '' : 's'}).`, 'Show Results', 'Explain', 'Open Panel');
  if (choice === 'Show Results') await showResults(s, { run });
  else if (choice === 'Explain') await vscode.commands.executeCommand(EXPLAIN_STUDY_COMMAND);
  else if (choice === 'Open Panel') await s.panel.reveal();
}

async function showResults(s: Services, item?: RunArg): Promise<void> {
  const run = await runFrom(s, item, 'RECLF: results of which run?', (r) => fs.existsSync(path.join(r.dir, 'eval')));
  if (!run) return;
  s.feed?.focusRun(run.dir);
  const results = readRunResults(run.dir);
  if (!results.tasks.length) {
    void vscode.window.showInformationMessage(`RECLF: ${run.name} has no evaluation results yet.`, 'Evaluate')
      .then((c) => (c === 'Evaluate' ? vscode.commands.executeCommand('reclf.evaluate', { run }) : undefined));
    return;
  }
  s.panel.showResults({ type: 'results', title: `Evaluation: ${run.name}`, runs: [results] });
  await s.panel.reveal();
}

/** Two or more runs side by side (tree multi-selection, else a multi-pick of evaluated runs). */
async function compareRuns(s: Services, item?: RunArg, selected?: RunArg[]): Promise<void> {
  let runs = (selected ?? (item ? [item] : [])).map((a) => a.run).filter((r): r is RunInfo => !!r);
  if (runs.length < 2) {
    const candidates = s.tree.runs().filter((r) => fs.existsSync(path.join(r.dir, 'eval')));
    const picks = await vscode.window.showQuickPick(candidates.map((r) => ({ label: r.name, description: r.method ?? '', run: r, picked: runs.some((x) => x.dir === r.dir) })),
      { title: 'RECLF: compare which runs? (two or more)', canPickMany: true });
    runs = (Array.isArray(picks) ? picks : picks ? [picks] : []).map((p) => p.run);
  }
  if (runs.length < 2) {
    void vscode.window.showInformationMessage('RECLF: pick two or more evaluated runs to compare.');
    return;
  }
  const results = runs.map((r) => readRunResults(r.dir, r.name));
  s.panel.showTable(compareTable(`Comparison: ${runs.map((r) => r.name).join(' vs ')}`, results));
  s.panel.showResults({ type: 'results', title: `Comparison of ${runs.length} runs`, runs: results });
  await s.panel.reveal();
}

async function showAblation(s: Services, item?: RunArg): Promise<void> {
  let dir = item?.run?.dir;
  if (!dir) {
    const ablations = s.tree.ablations();
    const pick = ablations.length === 1 ? ablations[0] : (await vscode.window.showQuickPick(ablations.map((a) => ({ label: a.name, a })), { title: 'RECLF: which ablation?' }))?.a;
    dir = pick?.dir;
  }
  if (!dir) return;
  s.feed?.focusRun(dir);
  const table = ablationTable(dir);
  if (table) s.panel.showTable(table);
  else void vscode.window.showInformationMessage(`RECLF: ${path.basename(dir)} has no evaluated runs yet; its table fills in as they finish.`);
  await s.panel.reveal();
}

async function ablate(s: Services): Promise<void> {
  const settings = readSettings();
  const data = await pickDataset();
  if (!data || !settings.runsFolder) return abandoned('Ablation');
  // Offered: every engine variant; ticked: the proposed method against its simplest baseline (a
  // short first comparison); tick more for the full table.
  const picked = await vscode.window.showQuickPick(ABLATION_METHODS.map((m) => ({ label: m, picked: m === 'reclf' || m === 'convirt' })),
    { title: 'RECLF: variants to compare', canPickMany: true });
  const methods = (Array.isArray(picked) ? picked : picked ? [picked] : []).map((p) => p.label);
  const seeds = await vscode.window.showInputBox({ title: 'RECLF: pretraining seeds per variant', value: '1', validateInput: (v) => (/^[1-9]\d*$/.test(v) ? undefined : 'a positive integer') });
  if (!seeds) return abandoned('Ablation');
  // The engine requires one step budget shared by every variant (a fair comparison).
  const budget = await vscode.window.showInputBox({ title: 'RECLF: optimizer steps per variant and seed', value: '300', validateInput: (v) => (/^[1-9]\d*$/.test(v) ? undefined : 'a positive integer') });
  if (!budget) return abandoned('Ablation');
  const cfg = await pickConfig(settings.defaultConfig);
  if (!cfg) return abandoned('Ablation');
  const grid = methods.length ? methods.length : ABLATION_METHODS.length;
  const runs = grid * Number(seeds);
  const slurm = findSlurm(settings.slurmBinDir);
  const executor = await pickExecutor(slurm, `the ablation (${runs} runs)`);
  if (!executor) return abandoned('Ablation');
  const out = path.join(settings.runsFolder, `ablation-${Date.now().toString(36)}`);
  const args = ['ablate', '--data', data, '--budget', budget, '--seeds', seeds, '--out', out, ...backendArgs(settings.defaultBackend)];
  if (methods.length) args.push('--methods', methods.join(','));
  if (cfg.config) args.push('--config', cfg.config);
  // On Slurm, the submitter follows its tasks (--wait) and tabulates when they are done; the
  // tasks themselves append their states to ABLATION/events.jsonl, which the runs tree reads.
  if (executor === 'slurm' && slurm) args.push(...slurmArgs(slurm, settings.slurmArgs, true));
  const where = executor === 'slurm' ? ' on Slurm' : '';
  s.log.info(`ablation: ${grid} variant(s) × ${seeds} seed(s) = ${runs} runs of ${budget} steps${where} in ${out}`);
  fs.mkdirSync(out, { recursive: true });
  const started = s.runs.start({ title: `Ablation${where} (${runs} runs)`, args, kind: 'ablation', folder: out });
  s.feed?.focusRun(out);
  s.tree.refresh();
  const o = await started;
  s.tree.refresh();
  const table = ablationTable(out) ?? resultsTable('Ablation', o.events, true);
  if (table) s.panel.showTable(table);
  if (!ok(o)) return;
  const choice = await vscode.window.showInformationMessage(`RECLF: ablation ${path.basename(out)} finished.`, 'Show Table');
  if (choice === 'Show Table') await showAblation(s, { run: { dir: out } as RunInfo });
}

async function exportOnnx(s: Services, item?: RunArg): Promise<void> {
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

/** The model explanations use, asking to select one when there is none. */
async function currentModel(s: Services, arg?: unknown): Promise<ModelRef | undefined> {
  let model = s.models.current();
  const run = arg && typeof arg === 'object' && 'run' in arg ? (arg as RunArg).run : undefined;
  if (run) model = run.hasOnnx ? { kind: 'onnx', path: path.join(run.dir, 'model.onnx') } : { kind: 'run', path: run.dir };
  if (!model) {
    const pick = await vscode.window.showWarningMessage('RECLF: no model selected and no bundled model found.', 'Select Model');
    if (pick) await vscode.commands.executeCommand('reclf.selectModel');
    model = s.models.current();
  }
  return model;
}

const TYPE_REPORT = 'Type or paste a report…';
const REPORT_FILE = 'A report file (.txt)…';
const FROM_DATASET = 'A study from a dataset…';

async function explain(s: Services, arg?: vscode.Uri | RunArg): Promise<void> {
  const model = await currentModel(s, arg);
  if (!model) return;
  const active = vscode.window.activeTextEditor?.document;
  const reportFromEditor = active && active.uri.scheme === 'file' && active.fileName.endsWith('.txt') && !active.isDirty ? active.fileName : undefined;
  const knownReport = arg instanceof vscode.Uri && arg.fsPath.endsWith('.txt') ? arg.fsPath : reportFromEditor;
  // A dataset report already names its image in the manifest: no dialog for a new user to get wrong.
  const paired = knownReport ? pairingForReportFile(knownReport)?.image : undefined;
  let image = arg instanceof vscode.Uri && /\.(png|jpe?g|dcm|dicom)$/i.test(arg.fsPath) ? arg.fsPath
    : paired && fs.existsSync(paired) ? paired : undefined;
  let reportFile = knownReport;
  if (!image && !reportFile) {
    // Nothing at hand: a dataset's studies need no files; an image can take a typed report.
    const how = await vscode.window.showQuickPick([FROM_DATASET, 'An image file…'], { title: 'RECLF: explain what?' });
    if (!how) return abandoned('Explain');
    if (how === FROM_DATASET) return explainStudy(s);
  }
  image ??= await pickFile('X-ray image', IMAGE_FILTERS);
  if (!image) return abandoned('Explain');
  let typed: string | undefined;
  if (!reportFile) {
    const how = await vscode.window.showQuickPick([TYPE_REPORT, REPORT_FILE], { title: `RECLF: report for ${path.basename(image)}` });
    if (!how) return abandoned('Explain');
    if (how === TYPE_REPORT) {
      typed = await vscode.window.showInputBox({ title: `RECLF: report for ${path.basename(image)}`, prompt: 'Type or paste the report text', placeHolder: 'e.g. Small left pleural effusion. No pneumothorax.' });
      if (!typed?.trim()) return abandoned('Explain');
    } else {
      reportFile = await pickFile('Report (.txt)', { Reports: ['txt'] });
      if (!reportFile) return abandoned('Explain');
    }
  }
  try {
    if (typed !== undefined) {
      const id = `typed-${path.basename(image).replace(/\.[^.]+$/, '')}`;
      const payload = await s.explain.explain({ image, report: { text: typed, id }, model });
      await s.panel.showExplanation(payload);
      // A read-only document with the typed text, so its words get hovers like any report.
      if (s.studies) await vscode.window.showTextDocument(s.studies.add({ text: typed, image, id }, 'typed'), { preview: true, preserveFocus: true });
      return;
    }
    const payload = await s.explain.explain({ image, report: { file: reportFile! }, model });
    if (!paired) s.hovers.rememberPairing?.(reportFile!, image);
    await s.panel.showExplanation(payload);
  } catch (err) {
    // The run manager already showed the engine's error with "Show Log".
    s.log.error(`explain: ${err instanceof Error ? err.message : String(err)}`);
  }
}

// ---- studies of a dataset ------------------------------------------------------------------

/** The dataset and study the panel shows, for next/previous. */
interface StudyCursor { manifest: string; studies: Study[]; index: number }
let cursor: StudyCursor | undefined;

const ALL_LABELS = '$(list-flat) All studies';

/** Quick pick of a dataset's studies: id, positive labels, first words; filtered by a label first when asked. */
async function pickStudy(studies: Study[]): Promise<Study | undefined> {
  const labels = labelCounts(studies);
  let pool = studies;
  if (labels.length) {
    const filter = await vscode.window.showQuickPick(
      [{ label: ALL_LABELS, description: `${studies.length} studies` }, ...labels.map(([l, n]) => ({ label: l, description: `${n} studies` }))],
      { title: 'RECLF: filter studies by label' });
    if (!filter) return undefined;
    if (filter.label !== ALL_LABELS) pool = studies.filter((st) => st.labels.includes(filter.label));
  }
  const pick = await vscode.window.showQuickPick(pool.slice(0, 5000).map((st) => ({
    label: st.id, description: [st.split, st.labels.join(', ') || 'no finding'].filter(Boolean).join(' · '),
    detail: firstWords(st.report ?? (st.reportFile ? '(report file)' : '')), study: st,
  })), { title: `RECLF: explain which study? (${pool.length})`, matchOnDescription: true, matchOnDetail: true });
  return pick?.study;
}

async function explainStudy(s: Services, args?: ExplainStudyArgs): Promise<void> {
  const model = await currentModel(s);
  if (!model) return;
  let manifest = args?.manifest;
  if (!manifest) {
    const data = await pickDataset();
    if (!data) return abandoned('Explain');
    manifest = path.join(data, 'manifest.jsonl');
  }
  let studies: Study[];
  try { studies = readStudies(manifest); } catch (err) {
    void vscode.window.showErrorMessage(`RECLF: cannot read ${manifest}: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  const study = args?.id !== undefined ? studies.find((st) => st.id === args.id) : await pickStudy(studies);
  if (!study) return abandoned('Explain');
  cursor = { manifest, studies, index: study.index };
  await explainAt(s, model);
}

/** Explains the cursor's study: the panel, and its report as a read-only document with hovers. */
async function explainAt(s: Services, model: ModelRef): Promise<void> {
  if (!cursor) return;
  const study = cursor.studies[cursor.index];
  let text: string;
  try { text = studyReport(study); } catch (err) {
    void vscode.window.showErrorMessage(`RECLF: ${err instanceof Error ? err.message : String(err)}`);
    return;
  }
  const ref: StudyRef = { id: study.id, index: study.index, total: cursor.studies.length, labels: study.labels, dataset: path.basename(path.dirname(cursor.manifest)) };
  try {
    const request = study.reportFile && study.report === undefined
      ? { image: study.image, report: { file: study.reportFile }, model }
      : { image: study.image, report: { text, id: study.id }, model };
    const payload = await s.explain.explain(request);
    await s.panel.showExplanation(payload, undefined, ref);
    if (s.studies && !study.reportFile) {
      const uri = s.studies.add({ text, image: study.image, id: study.id, manifest: cursor.manifest }, ref.dataset);
      await vscode.window.showTextDocument(uri, { preview: true, preserveFocus: true, viewColumn: vscode.ViewColumn.Active });
    }
  } catch (err) {
    s.log.error(`explain ${study.id}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function stepStudy(s: Services, step: 1 | -1): Promise<void> {
  if (!cursor) {
    await explainStudy(s);
    return;
  }
  const model = await currentModel(s);
  if (!model) return;
  cursor.index = (cursor.index + step + cursor.studies.length) % cursor.studies.length;
  await explainAt(s, model);
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

async function deleteRun(s: Services, item?: RunArg): Promise<void> {
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
  if (s.panel && typeof s.panel === 'object') (s.panel as { stepStudy?: (step: 1 | -1) => Promise<void> }).stepStudy = (step) => stepStudy(s, step);
  return [
    guarded('reclf.synth', () => synth(s)),
    guarded('reclf.import', () => importDataset(s)),
    guarded('reclf.train', (uri?: vscode.Uri) => train(s, uri instanceof vscode.Uri ? uri : undefined)),
    guarded('reclf.resume', (item?: RunArg) => resume(s, item)),
    guarded('reclf.evaluate', (item?: RunArg) => evaluate(s, item)),
    guarded('reclf.ablate', () => ablate(s)),
    guarded('reclf.export', (item?: RunArg) => exportOnnx(s, item)),
    guarded('reclf.explain', (arg?: vscode.Uri | RunArg) => explain(s, arg)),
    guarded(EXPLAIN_STUDY_COMMAND, (args?: ExplainStudyArgs) => explainStudy(s, args && typeof args === 'object' && 'manifest' in args ? args : undefined)),
    guarded('reclf.nextStudy', () => stepStudy(s, 1)),
    guarded('reclf.previousStudy', () => stepStudy(s, -1)),
    reg('reclf.cancel', (item?: RunArg) => cancel(s, item)),
    reg('reclf.openPanel', () => s.panel.openTab()),
    reg('reclf.selectModel', () => selectModel(s)),
    reg('reclf.showLog', () => s.log.show()),
    reg('reclf.showBackendProbes', () => {
      const probes = s.runs.backendProbes ?? [];
      s.log.info(probes.length ? `backend probes of the latest engine start:\n${probes.join('\n')}` : 'no engine start has listed its backends yet');
      s.log.show();
    }),
    reg('reclf.openRunFolder', (item?: RunArg) => (item?.run ? vscode.commands.executeCommand('revealFileInOS', vscode.Uri.file(item.run.dir)) : undefined)),
    reg('reclf.deleteRun', (item?: RunArg) => deleteRun(s, item)),
    reg('reclf.refreshRuns', () => s.tree.refresh()),
    reg('reclf.showRun', async (item?: RunArg) => {
      const run = await runFrom(s, item, 'RECLF: show which run?');
      if (!run) return;
      s.feed?.focusRun(run.dir);
      await s.panel.reveal();
    }),
    reg('reclf.showResults', (item?: RunArg) => showResults(s, item)),
    reg('reclf.compareRuns', (item?: RunArg, selected?: RunArg[]) => compareRuns(s, item, selected)),
    reg('reclf.showAblation', (item?: RunArg) => showAblation(s, item)),
    // Hover links need an engine only when the cache was dropped; guard like the other runs.
    reg(SHOW_WORD_COMMAND, trusted('Show in panel', (args?: ShowWordArgs) => showWord(s, args)) as (...args: never[]) => unknown),
  ];
}

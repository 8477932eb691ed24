// Activation: wire the services together and register everything. Kept flat and small.
import * as vscode from 'vscode';
import path from 'node:path';
import { registerCommands, type Services } from './commands';
import { ExplainService } from './explain-service';
import { HOVER_SELECTOR, ReportHoverProvider } from './hover-provider';
import { ModelSelection } from './model-selection';
import { PANEL_VIEW_ID, PanelProvider } from './panel';
import { RunManager } from './run-manager';
import { RUNS_VIEW_ID, RunsTreeProvider } from './runs-tree';
import { readSettings } from './settings';

let runs: RunManager | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('RECLF Engine', { log: true });
  runs = new RunManager({
    workspaceState: context.workspaceState, log,
    enginePath: path.join(context.extensionPath, 'dist', 'engine', 'reclf.cjs'),
  });
  const tree = new RunsTreeProvider((dir) => runs?.isRunning(dir) ?? false);
  const panel = new PanelProvider(context.extensionUri, log);
  const explain = new ExplainService(async (args, o) => {
    const out = await runs!.start({ title: o.title, args, silent: o.silent });
    if (out.status !== 'ok') throw new Error(out.error ?? `explain ${out.status}`);
    return out.stdout;
  }, path.join(context.globalStorageUri.fsPath, 'explain'));
  const models = new ModelSelection(context.workspaceState, context.extensionPath);
  const hovers = new ReportHoverProvider(explain, () => (vscode.workspace.isTrusted ? models.current() : undefined), (m) => log.warn(m));
  const services: Services = { runs, tree, panel, explain, models, hovers, log, workspaceState: context.workspaceState };

  const runsFolder = readSettings().runsFolder;
  const watcher = runsFolder
    ? vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(runsFolder), '**/{events.jsonl,train-summary.json,model.onnx,config.json}'))
    : undefined;
  context.subscriptions.push(
    log, runs, tree, panel,
    vscode.window.registerTreeDataProvider(RUNS_VIEW_ID, tree),
    vscode.window.registerWebviewViewProvider(PANEL_VIEW_ID, panel),
    vscode.languages.registerHoverProvider(HOVER_SELECTOR, hovers),
    runs.onDidChangeRuns(() => {
      tree.refresh();
      void vscode.commands.executeCommand('setContext', 'reclf.hasRunningRun', (runs?.running.length ?? 0) > 0);
    }),
    runs.onEvents((e) => panel.runEvents(e.runDir ? path.basename(e.runDir) : e.title, e.events, e.reset)),
    vscode.workspace.onDidOpenTextDocument((d) => { if (vscode.workspace.isTrusted) hovers.precomputeDocument(d); }),
    vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration('reclf.runsFolder')) tree.refresh(); }),
    ...registerCommands(services),
  );
  if (watcher) {
    context.subscriptions.push(watcher, watcher.onDidChange(() => tree.refresh()), watcher.onDidCreate(() => tree.refresh()), watcher.onDidDelete(() => tree.refresh()));
  }
  // Runs started before a window reload are still going: follow them again.
  if (vscode.workspace.isTrusted) runs.reattach();
}

export function deactivate(): void {
  runs?.dispose();
  runs = undefined;
}

// Activation: wire the services together and register everything. Kept flat and small.
import * as vscode from 'vscode';
import path from 'node:path';
import { registerCommands, type Services } from './commands';
import { ExplainServerClient, ExplainService } from './explain-service';
import { engineLaunch, startEngineServer } from './engine-process';
import { HOVER_SELECTOR, ReportHoverProvider } from './hover-provider';
import { ModelSelection } from './model-selection';
import { PANEL_VIEW_ID, PanelProvider } from './panel';
import { RunManager } from './run-manager';
import { RUNS_VIEW_ID, RunsTreeProvider } from './runs-tree';
import { readSettings } from './settings';

let runs: RunManager | undefined;
let explainService: ExplainService | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('RECLF Engine', { log: true });
  runs = new RunManager({
    workspaceState: context.workspaceState, log,
    enginePath: path.join(context.extensionPath, 'dist', 'engine', 'reclf.cjs'),
  });
  const tree = new RunsTreeProvider((dir) => runs?.isRunning(dir) ?? false);
  const panel = new PanelProvider(context.extensionUri, log);
  const enginePath = path.join(context.extensionPath, 'dist', 'engine', 'reclf.cjs');
  // One warm `reclf serve` (same node and engine as runs); the engine also exits by itself when
  // idle, in case this host dies without stopping it.
  const server = new ExplainServerClient((onLine) => {
    if (!vscode.workspace.isTrusted) throw new Error('restricted workspace');
    const s = readSettings();
    const launch = engineLaunch({ nodePath: s.nodePath, execPath: process.execPath, enginePath, nodeArgs: s.engineArgs, env: process.env },
      ['serve', '--idle-exit', '900']);
    log.info(`$ ${[launch.command, ...launch.args].join(' ')}`);
    return startEngineServer(launch, { onLine, onStderr: (t) => { for (const l of t.split('\n')) if (l.trim()) log.info(l); } });
  }, { idleMs: 10 * 60_000, log: (m) => log.info(m) });
  const explain = explainService = new ExplainService(async (args, o) => {
    const out = await runs!.start({ title: o.title, args, silent: o.silent });
    if (out.status !== 'ok') throw new Error(out.error ?? `explain ${out.status}`);
    return out.stdout;
  }, path.join(context.globalStorageUri.fsPath, 'explain'), 32, {
    server,
    allowed: () => vscode.workspace.isTrusted,
    log: (m) => log.warn(m),
    onError: (message, silent) => {
      log.error(message);
      if (!silent) void Promise.resolve(vscode.window.showErrorMessage(`RECLF: ${message}`, 'Open Log')).then((c) => { if (c === 'Open Log') log.show(); });
    },
  });
  const models = new ModelSelection(context.workspaceState, context.extensionPath);
  const hovers = new ReportHoverProvider(explain, () => (vscode.workspace.isTrusted ? models.current() : undefined), (m) => log.warn(m));
  const services: Services = { runs, tree, panel, explain, models, hovers, log, workspaceState: context.workspaceState };

  const runsFolder = readSettings().runsFolder;
  const watcher = runsFolder
    ? vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.file(runsFolder), '**/{events.jsonl,train-summary.json,model.onnx,config.json}'))
    : undefined;
  context.subscriptions.push(
    log, runs, tree, panel, { dispose: () => void explain.dispose() },
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

export async function deactivate(): Promise<void> {
  runs?.dispose();
  runs = undefined;
  await explainService?.dispose();
  explainService = undefined;
}

// Activation: wire the services together and register everything. Kept flat and small.
import * as vscode from 'vscode';
import path from 'node:path';
import { registerCommands, type Services } from './commands';
import { ExplainServerClient, ExplainService } from './explain-service';
import { engineLaunch, startEngineServer } from './engine-process';
import { HOVER_SELECTOR, ReportHoverProvider } from './hover-provider';
import { MANIFEST_SELECTOR, ManifestCodeLensProvider } from './manifest-codelens';
import { ModelSelection } from './model-selection';
import { PANEL_VIEW_ID, PanelProvider } from './panel';
import { PanelFeed } from './panel-feed';
import { RunManager } from './run-manager';
import { RunStore } from './run-store';
import { RUNS_VIEW_ID, RunsTreeProvider } from './runs-tree';
import { readSettings } from './settings';
import { STUDY_SCHEME, StudyDocuments } from './study-documents';

let runs: RunManager | undefined;
let explainService: ExplainService | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const log = vscode.window.createOutputChannel('RECLF Engine', { log: true });
  const enginePath = path.join(context.extensionPath, 'dist', 'engine', 'reclf.cjs');
  runs = new RunManager({ workspaceState: context.workspaceState, log, enginePath });
  // One source of truth for run state: the runs folder's events files, followed by the store;
  // the tree, the panel and the notifications all read the same folded state.
  const store = new RunStore({ folder: () => readSettings().runsFolder, isRunning: (dir) => runs?.isRunning(dir) ?? false });
  const tree = new RunsTreeProvider(store);
  const panel = new PanelProvider(context.extensionUri, log);
  const feed = new PanelFeed(store, panel);
  const studies = new StudyDocuments();
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
      if (!silent) void Promise.resolve(vscode.window.showErrorMessage(`RECLF: ${message}`, 'Show Log')).then((c) => { if (c === 'Show Log') log.show(); });
    },
  });
  const models = new ModelSelection(context.workspaceState, context.extensionPath);
  const hovers = new ReportHoverProvider(explain, () => (vscode.workspace.isTrusted ? models.current() : undefined), (m) => log.warn(m),
    (uri) => studies.get(uri));
  const services: Services = { runs, tree, panel, explain, models, hovers, log, workspaceState: context.workspaceState, feed, studies };
  const treeView = vscode.window.createTreeView(RUNS_VIEW_ID, { treeDataProvider: tree, canSelectMany: true, showCollapseAll: true });

  context.subscriptions.push(
    log, runs, tree, panel, treeView, studies, { dispose: () => feed.dispose() }, { dispose: () => store.dispose() },
    { dispose: () => void explain.dispose() },
    vscode.window.registerWebviewViewProvider(PANEL_VIEW_ID, panel),
    vscode.workspace.registerTextDocumentContentProvider(STUDY_SCHEME, studies),
    vscode.languages.registerHoverProvider(HOVER_SELECTOR, hovers),
    vscode.languages.registerCodeLensProvider(MANIFEST_SELECTOR, new ManifestCodeLensProvider()),
    store.onDidChange(() => tree.refresh()),
    runs.onDidChangeRuns(() => {
      // A job this window started or ended: the store settles its state (running, or how it ended).
      store.poke();
      void vscode.commands.executeCommand('setContext', 'reclf.hasRunningRun', (runs?.running.length ?? 0) > 0);
    }),
    vscode.workspace.onDidOpenTextDocument((d) => { if (vscode.workspace.isTrusted) hovers.precomputeDocument(d); }),
    vscode.workspace.onDidChangeConfiguration((e) => { if (e.affectsConfiguration('reclf.runsFolder')) store.scan(); }),
    ...registerCommands(services),
  );
  store.start();
  // Runs started before a window reload are still going: follow them again.
  if (vscode.workspace.isTrusted) runs.reattach();
}

export async function deactivate(): Promise<void> {
  runs?.dispose();
  runs = undefined;
  await explainService?.dispose();
  explainService = undefined;
}

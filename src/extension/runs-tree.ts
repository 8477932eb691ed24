// The Runs view: run folders under `reclf.runsFolder` with status, method, device and best metrics.
// Context values drive the view/item/context menu (evaluate, export, explain, open, delete).
import * as vscode from 'vscode';
import { describeMetrics, listRuns, type RunInfo } from './run-info';
import { readSettings } from './settings';

export const RUNS_VIEW_ID = 'reclf.runs';

const ICONS: Record<RunInfo['status'], string> = {
  ok: 'pass', cancelled: 'circle-slash', failed: 'error', running: 'sync~spin', incomplete: 'circle-outline',
};

/** Engine-reported text (adapter names) shown literally in a tooltip. */
function mdEscape(s: string): string {
  return s.replace(/[\\`*_[\]<>#|]/g, '\\$&');
}

export class RunItem extends vscode.TreeItem {
  constructor(readonly run: RunInfo) {
    super(run.name, vscode.TreeItemCollapsibleState.None);
    const progress = run.step !== undefined && run.totalSteps ? ` ${run.step}/${run.totalSteps}` : '';
    const metrics = describeMetrics(run.metrics);
    this.description = [run.method, `${run.status}${progress}`, run.deviceLabel, metrics].filter(Boolean).join(' · ');
    this.iconPath = new vscode.ThemeIcon(ICONS[run.status]);
    this.resourceUri = vscode.Uri.file(run.dir);
    // reclfRun[.running][.onnx]: `when` clauses match with =~ on these parts.
    this.contextValue = ['reclfRun', run.status === 'running' ? 'running' : '', run.hasOnnx ? 'onnx' : ''].filter(Boolean).join('.');
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${run.name}**\n\n- status: ${run.status}${progress}\n- method: ${run.method ?? '?'}\n`);
    if (run.deviceLabel) {
      const raw = [run.backend, run.device].filter(Boolean).join(', ');
      md.appendMarkdown(`- device: ${mdEscape(run.deviceLabel)}${raw && raw !== run.deviceLabel ? ` (${mdEscape(raw)})` : ''}\n`);
    }
    for (const [k, v] of Object.entries(run.metrics)) md.appendMarkdown(`- ${k}: ${v.toFixed(4)}\n`);
    if (run.error) md.appendMarkdown(`\n${run.error}`);
    this.tooltip = md;
  }
}

export class RunsTreeProvider implements vscode.TreeDataProvider<RunItem>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunItem | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly isRunning: (dir: string) => boolean) {}

  /** Debounced: file watchers fire in bursts while a run writes checkpoints. */
  refresh(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => { this.timer = undefined; this.changed.fire(undefined); }, 300);
  }

  getTreeItem(item: RunItem): vscode.TreeItem {
    return item;
  }

  getChildren(item?: RunItem): RunItem[] {
    if (item) return [];
    const folder = readSettings().runsFolder;
    return folder ? listRuns(folder, this.isRunning).map((r) => new RunItem(r)) : [];
  }

  runs(): RunInfo[] {
    return this.getChildren().map((i) => i.run);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.changed.dispose();
  }
}

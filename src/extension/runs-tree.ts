// The Runs view: run folders and ablations under `reclf.runsFolder`, read from the run store (the
// same state the panel and the notifications show). A run shows its job's state and progress, and
// an evaluation going on in it; an ablation is a group of variant x seed runs, each with its state
// and key metric, filling in as they finish. Context values drive the view/item/context menus.
import * as vscode from 'vscode';
import { describeMetrics } from './run-info';
import { ablationCounts, cellKey, describeProgress, type AblationCell, type JobState } from './run-state';
import type { RunEntry, RunStore } from './run-store';
import type { TaskState } from '../protocol/events';

export const RUNS_VIEW_ID = 'reclf.runs';

const ICONS: Record<JobState | TaskState, string> = {
  finished: 'pass', cancelled: 'circle-slash', failed: 'error', running: 'sync~spin', incomplete: 'circle-outline',
  requeued: 'history', pending: 'circle-outline', queued: 'watch',
};

/** Engine-reported text (adapter names, errors) shown literally in a tooltip. */
function mdEscape(s: string): string {
  return s.replace(/[\\`*_[\]<>#|]/g, '\\$&');
}

const pct = (v: number): string => (Math.abs(v) <= 1 ? `${(100 * v).toFixed(1)}%` : v.toFixed(3));

/** "finished 90/90", "running · step 3/9 · loss 1.2 · ETA 4s", "cancelled at 40/90". */
export function jobText(run: RunEntry): string {
  const j = run.job;
  const steps = j.step !== undefined && j.totalSteps ? `${j.step}/${j.totalSteps}` : run.step !== undefined && run.totalSteps ? `${run.step}/${run.totalSteps}` : '';
  // Submitted to Slurm and not started yet: the scheduler holds it.
  if (run.slurmJob && !j.started && j.state === 'running') return `queued on Slurm · job ${run.slurmJob}`;
  switch (j.state) {
    case 'running': return `running · ${describeProgress(j)}`;
    case 'finished': return steps ? `finished ${steps}` : 'finished';
    case 'cancelled': case 'incomplete': return steps ? `${j.state} at ${steps}` : j.state;
    default: return j.state;
  }
}

export class RunItem extends vscode.TreeItem {
  constructor(readonly run: RunEntry, label: string = run.name) {
    super(label, vscode.TreeItemCollapsibleState.None);
    // Ids by kind: a folder that turns out to be an ablation becomes a new (expanded) group
    // rather than inheriting this item's "no children" state.
    this.id = `run:${run.dir}`;
    const ev = run.evalJob;
    const evalText = ev?.state === 'running' ? `evaluating: ${describeProgress(ev)}`
      : ev?.state === 'failed' ? 'evaluation failed' : undefined;
    const metrics = run.job.state === 'running' ? '' : describeMetrics(run.metrics);
    const slurm = run.slurmJob && run.job.started && (run.job.state === 'running' || run.job.state === 'requeued') ? `Slurm job ${run.slurmJob}` : undefined;
    this.description = [run.method, jobText(run), slurm, evalText, run.deviceLabel, metrics].filter(Boolean).join(' · ');
    this.iconPath = new vscode.ThemeIcon(ICONS[ev?.state === 'running' ? 'running' : run.job.state]);
    this.resourceUri = vscode.Uri.file(run.dir);
    // reclfRun[.running][.onnx][.evaluated]: `when` clauses match with =~ on these parts.
    const busy = run.job.state === 'running' || run.job.state === 'requeued' || ev?.state === 'running';
    this.contextValue = ['reclfRun', busy ? 'running' : '', run.hasOnnx ? 'onnx' : '', run.evalTasks.length ? 'evaluated' : ''].filter(Boolean).join('.');
    this.command = { command: 'reclf.showRun', title: 'Show Run', arguments: [this] };
    const md = new vscode.MarkdownString(undefined, true);
    md.appendMarkdown(`**${mdEscape(run.name)}**\n\n- status: ${jobText(run)}\n- method: ${run.method ?? '?'}\n`);
    if (run.deviceLabel) {
      const raw = [run.backend, run.device].filter(Boolean).join(', ');
      md.appendMarkdown(`- device: ${mdEscape(run.deviceLabel)}${raw && raw !== run.deviceLabel ? ` (${mdEscape(raw)})` : ''}\n`);
    }
    if (ev) md.appendMarkdown(`- evaluation: ${ev.state}${ev.state === 'running' ? ` · ${describeProgress(ev)}` : ''}\n`);
    if (run.evalTasks.length) md.appendMarkdown(`- evaluated: ${run.evalTasks.join(', ')}\n`);
    for (const [k, v] of Object.entries(run.metrics)) md.appendMarkdown(`- ${k}: ${v.toFixed(4)}\n`);
    const error = run.error ?? ev?.error;
    if (error) md.appendMarkdown(`\n${mdEscape(error)}`);
    this.tooltip = md;
  }
}

/** The key metric of an ablation run: the engine's (ablation_task), else its first evaluation metric. */
function keyMetric(cell: AblationCell | undefined, run: RunEntry | undefined): string | undefined {
  if (cell?.metric) return `${cell.metric.name} ${pct(cell.metric.value)}`;
  const m = run ? Object.entries(run.metrics).find(([k]) => k.includes('/')) ?? Object.entries(run.metrics)[0] : undefined;
  return m ? `${m[0]} ${pct(m[1])}` : undefined;
}

/** One variant x seed of an ablation. It is a run item when its folder exists (evaluate, explain...). */
export class AblationCellItem extends vscode.TreeItem {
  readonly run: RunEntry | undefined;
  constructor(readonly ablation: RunEntry, readonly variant: string, readonly seed: number, cell: AblationCell | undefined, run: RunEntry | undefined) {
    super(`${variant} · seed ${seed}`, vscode.TreeItemCollapsibleState.None);
    this.id = `cell:${ablation.dir}:${variant}:${seed}`;
    this.run = run;
    const state: JobState | TaskState = cell?.state ?? run?.job.state ?? 'pending';
    const progress = state === 'running' && run?.job.step !== undefined ? describeProgress(run.job) : undefined;
    this.description = [state, cell?.jobId ? `job ${cell.jobId}` : undefined, progress, keyMetric(cell, run)].filter(Boolean).join(' · ');
    this.iconPath = new vscode.ThemeIcon(ICONS[state]);
    if (run) {
      this.resourceUri = vscode.Uri.file(run.dir);
      this.contextValue = ['reclfRun', state === 'running' ? 'running' : '', run.hasOnnx ? 'onnx' : '', run.evalTasks.length ? 'evaluated' : ''].filter(Boolean).join('.');
      this.command = { command: 'reclf.showRun', title: 'Show Run', arguments: [this] };
    }
    if (cell?.message) this.tooltip = cell.message;
  }
}

export class AblationItem extends vscode.TreeItem {
  constructor(readonly run: RunEntry) {
    super(run.name, vscode.TreeItemCollapsibleState.Expanded);
    this.id = `ablation:${run.dir}`;
    const a = run.job.ablation;
    const kids = run.children ?? [];
    const total = a?.total ?? kids.length;
    const grid = a ? `${a.variants.length} variant${a.variants.length === 1 ? '' : 's'} × ${a.seeds.length} seed${a.seeds.length === 1 ? '' : 's'}` : `${total} runs`;
    const done = a ? ablationCounts(a).done : kids.filter((k) => k.job.state === 'finished').length;
    const active = run.job.state === 'running' || run.job.state === 'requeued';
    const where = a?.executor === 'slurm' ? `on Slurm${run.slurmJob ? ` (job ${run.slurmJob})` : ''}` : undefined;
    this.description = ['ablation', grid, where, run.job.state === 'running' ? describeProgress(run.job) : `${run.job.state === 'incomplete' && done === total ? 'finished' : run.job.state} · ${done}/${total} done`]
      .filter(Boolean).join(' · ');
    this.iconPath = new vscode.ThemeIcon(run.job.state === 'running' ? 'sync~spin' : run.job.state === 'requeued' ? 'history' : 'beaker');
    this.resourceUri = vscode.Uri.file(run.dir);
    // Cancel is offered while anything is active (a requeued Slurm grid waits in the queue again).
    this.contextValue = active ? 'reclfAblation.running' : 'reclfAblation';
    this.command = { command: 'reclf.showAblation', title: 'Show Ablation Table', arguments: [this] };
  }

  cells(): AblationCellItem[] {
    const kids = this.run.children ?? [];
    const a = this.run.job.ablation;
    const byDir = new Map(kids.map((k) => [k.name, k]));
    if (!a) return kids.map((k) => {
      const m = /^(.*)-seed(\d+)$/.exec(k.name);
      return new AblationCellItem(this.run, m?.[1] ?? k.name, Number(m?.[2] ?? 0), undefined, k);
    });
    // The grid's order (variant, then seed), cells announced before their folders exist included.
    return a.variants.flatMap((v) => a.seeds.map((seed) => {
      const cell = a.cells[cellKey(v, seed)];
      const folder = cell?.runDir ? cell.runDir.split(/[\\/]/).pop()! : `${v}-seed${seed}`;
      return new AblationCellItem(this.run, v, seed, cell, byDir.get(folder));
    }));
  }
}

export type RunsTreeNode = RunItem | AblationItem | AblationCellItem;

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsTreeNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsTreeNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly store: RunStore) {}

  /** Coalesced: a run writes events in bursts; the tree redraws at most every 200 ms. */
  refresh(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => { this.timer = undefined; this.changed.fire(undefined); }, 200);
  }

  getTreeItem(item: RunsTreeNode): vscode.TreeItem {
    return item;
  }

  getChildren(item?: RunsTreeNode): RunsTreeNode[] {
    if (item instanceof AblationItem) return item.cells();
    if (item) return [];
    return this.store.list().map((r) => (r.kind === 'ablation' ? new AblationItem(r) : new RunItem(r)));
  }

  /** Every run (ablation runs included), for the pickers of the commands. */
  runs(): RunEntry[] {
    return this.store.allRuns();
  }

  ablations(): RunEntry[] {
    return this.store.list().filter((r) => r.kind === 'ablation');
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
    this.changed.dispose();
  }
}

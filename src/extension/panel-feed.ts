// What the panel shows of runs, fed from the run store (the same state as the tree and the
// notifications). One run is in focus: the one the user clicked in the tree or started, else the
// one that is writing now. Focusing sends its whole history from the start of its events files
// (curves across resumes); then new events follow as the store reads them. An evaluation of the
// focused run shows as its own job (task i of n), and its results as cards once it finishes.
import type { EngineEvent } from '../protocol/events';
import type { PanelProvider } from './panel';
import type { RunStore, StoreEvents } from './run-store';
import { ablationTable, readRunResults } from './results';
import { readDetectionPreview } from './detection-preview';
import path from 'node:path';

export class PanelFeed {
  private focused: string | undefined;
  /** Set when the user chose the focus: a run that starts writing elsewhere does not steal it. */
  private pinned = false;
  private lastStates = new Map<string, string>();
  private readonly subs: Array<{ dispose(): void }> = [];

  constructor(private readonly store: RunStore, private readonly panel: PanelProvider) {
    this.subs.push(store.onEvents((e) => this.onEvents(e)), store.onDidChange(() => this.onChange()));
  }

  get focus(): string | undefined {
    return this.focused;
  }

  /** Shows `dir` (a run or an ablation) in the panel: its whole history, its results. */
  focusRun(dir: string, pin = true): void {
    this.focused = path.resolve(dir);
    this.pinned = pin;
    for (const k of [...this.lastStates.keys()]) if (k.endsWith(`:${this.focused}`)) this.lastStates.delete(k);
    const entry = this.store.get(this.focused);
    const name = path.basename(this.focused);
    if (entry?.kind === 'ablation') {
      this.panel.runEvents(name, this.store.history(this.focused, 'ablation'), true, 'ablation');
      const table = ablationTable(this.focused);
      if (table) this.panel.showTable(table);
      return;
    }
    this.panel.runEvents(name, this.store.history(this.focused, 'train'), true, 'train');
    const evalEvents = this.store.history(this.focused, 'eval');
    if (evalEvents.length) this.panel.runEvents(name, evalEvents, true, 'eval');
    this.showResults(this.focused);
    this.sendState();
  }

  /** The run's evaluation results as task cards (and its detection preview when it has one). */
  showResults(dir: string): boolean {
    const results = readRunResults(dir);
    if (!results.tasks.length) return false;
    this.panel.showResults({ type: 'results', title: `Evaluation: ${results.run}`, runs: [results] });
    const boxes = readDetectionPreview(dir);
    if (boxes) this.panel.showDetectionPreview(boxes);
    return true;
  }

  private onEvents(e: StoreEvents): void {
    const dir = path.resolve(e.dir);
    // A run that starts writing now takes the focus, unless the user chose one that is still going.
    const focusedBusy = this.focused !== undefined && this.store.get(this.focused)?.job.state === 'running';
    if (dir !== this.focused && !e.reset && e.job !== 'eval' && !(this.pinned && focusedBusy) && this.isTopLevel(dir)) {
      this.focusRun(dir, false);
      return;
    }
    if (dir !== this.focused) return;
    const name = path.basename(dir);
    this.panel.runEvents(name, e.events, false, e.job);
    if (e.job === 'eval' && e.events.some((x: EngineEvent) => x.type === 'run_finished' || x.type === 'eval_result')) this.showResults(dir);
    if (e.job === 'ablation' && e.events.some((x) => x.type === 'ablation_task')) {
      const table = ablationTable(dir);
      if (table) this.panel.showTable(table);
    }
  }

  private isTopLevel(dir: string): boolean {
    return this.store.list().some((r) => path.resolve(r.dir) === dir);
  }

  /** A job whose process ended without run_finished: the page cannot know; the host says. */
  private sendState(): void {
    if (!this.focused) return;
    const entry = this.store.get(this.focused);
    if (!entry) return;
    const name = path.basename(this.focused);
    const send = (job: 'train' | 'eval' | 'ablation', state: string | undefined): void => {
      if (!state) return;
      const key = `${job}:${this.focused}`;
      if (this.lastStates.get(key) === state) return;
      this.lastStates.set(key, state);
      this.panel.runState(name, job, state as never);
    };
    send(entry.kind === 'ablation' ? 'ablation' : 'train', entry.job.started ? entry.job.state : undefined);
    send('eval', entry.evalJob?.state);
  }

  private onChange(): void {
    if (this.focused && !this.store.get(this.focused)) { this.focused = undefined; this.pinned = false; return; }
    this.sendState();
  }

  dispose(): void {
    for (const s of this.subs) s.dispose();
  }
}

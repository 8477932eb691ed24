// The visualisation panel: the same webview app in the side bar (a WebviewView) and, opened wide,
// in an editor tab (a WebviewPanel). Both are served the webview/ bundle under a strict CSP and
// get the same typed HostMessages (queued per page until it says `ready`). The host keeps what
// was last shown (explanation and selected word, the focused run's history, results, tables), and
// replays it to a page that becomes ready, so the tab opens where the side bar was and back.
import * as vscode from 'vscode';
import type { EngineEvent, JobKind } from '../protocol/events';
import type { ExplanationPayload } from '../protocol/explain';
import {
  isWebviewMessage, type DetectionPreviewMessage, type HostMessage, type PanelJobState, type RequestMessage, type ResultsMessage,
  type StudyRef, type TableData,
} from '../protocol/webview-messages';
import { createNonce, renderWebviewHtml } from './webview-html';

export const PANEL_VIEW_ID = 'reclf.panel';
export const PANEL_TAB_TYPE = 'reclf.panelTab';

/** Host-side requests the page may make beyond files and editors (study navigation). */
export type StudyStepper = (step: 1 | -1) => Promise<void>;

interface Target {
  webview: vscode.Webview;
  ready: boolean;
  queue: HostMessage[];
  disposables: vscode.Disposable[];
}

/** What a page needs to show the current state (replayed in this order). */
interface Snapshot {
  explanation?: HostMessage & { type: 'explanation' };
  runs: Map<string, HostMessage & { type: 'runEvents' }>;
  runStates: Map<string, HostMessage & { type: 'runState' }>;
  results?: ResultsMessage;
  tables: Map<string, HostMessage & { type: 'evalTable' }>;
  detection?: DetectionPreviewMessage;
}

/** Most events a replayed job keeps (a long run's history is downsampled by the page anyway). */
const MAX_REPLAY_EVENTS = 20_000;

export class PanelProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private tab: vscode.WebviewPanel | undefined;
  private readonly targets = new Set<Target>();
  private readonly snapshot: Snapshot = { runs: new Map(), runStates: new Map(), tables: new Map() };
  private readonly disposables: vscode.Disposable[] = [];
  stepStudy: StudyStepper | undefined;

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: vscode.LogOutputChannel) {}

  private html(webview: vscode.Webview, title: string): string {
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    webview.options = { enableScripts: true, localResourceRoots: [dist, vscode.Uri.joinPath(this.extensionUri, 'media')] };
    return renderWebviewHtml({
      cspSource: webview.cspSource,
      nonce: createNonce(),
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'main.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(dist, 'main.css')).toString(),
      title,
    });
  }

  private attach(webview: vscode.Webview, onDispose: vscode.Event<void>): Target {
    const t: Target = { webview, ready: false, queue: [], disposables: [] };
    t.disposables.push(
      webview.onDidReceiveMessage((m: unknown) => this.onMessage(t, m)),
      onDispose(() => { this.targets.delete(t); for (const d of t.disposables) d.dispose(); }),
    );
    this.targets.add(t);
    return t;
  }

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    view.webview.html = this.html(view.webview, 'RECLF Explanation');
    this.attach(view.webview, view.onDidDispose);
    view.onDidDispose(() => { if (this.view === view) this.view = undefined; });
  }

  /** Opens (or reveals) the panel in an editor tab, where it has the width for side-by-side views. */
  openTab(column: vscode.ViewColumn = vscode.ViewColumn.Active): vscode.WebviewPanel {
    if (this.tab) {
      this.tab.reveal(column);
      return this.tab;
    }
    const tab = vscode.window.createWebviewPanel(PANEL_TAB_TYPE, 'RECLF Visualisation', column, {
      enableScripts: true, retainContextWhenHidden: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview'), vscode.Uri.joinPath(this.extensionUri, 'media')],
    });
    tab.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'reclf.svg');
    tab.webview.html = this.html(tab.webview, 'RECLF Visualisation');
    this.attach(tab.webview, tab.onDidDispose);
    tab.onDidDispose(() => { if (this.tab === tab) this.tab = undefined; });
    this.tab = tab;
    return tab;
  }

  /** Reveals where the user looks: the tab when it is open, else the side-bar view. */
  async reveal(): Promise<void> {
    if (this.tab) { this.tab.reveal(undefined, true); return; }
    if (this.view) this.view.show(true);
    else await vscode.commands.executeCommand(`${PANEL_VIEW_ID}.focus`);
  }

  /** Whether some page (side bar or tab) exists now. */
  get isOpen(): boolean {
    return this.targets.size > 0;
  }

  post(message: HostMessage): void {
    this.remember(message);
    for (const t of this.targets) this.send(t, message);
  }

  private send(t: Target, message: HostMessage): void {
    if (t.ready) {
      void t.webview.postMessage(message);
      return;
    }
    if (message.type === 'explanation') t.queue = t.queue.filter((m) => m.type !== 'explanation');
    t.queue.push(message);
    if (t.queue.length > 500) t.queue.splice(0, t.queue.length - 500);
  }

  /** Keeps what a new page must be shown (requests' responses are not state). */
  private remember(m: HostMessage): void {
    const s = this.snapshot;
    switch (m.type) {
      case 'explanation': s.explanation = m; break;
      case 'selectWord': if (s.explanation) s.explanation = { ...s.explanation, selectIndex: m.index }; break;
      case 'runEvents': {
        const key = `${m.job ?? 'train'}:${m.runId}`;
        const prev = m.reset ? undefined : s.runs.get(key);
        const events = prev ? [...prev.events, ...m.events] : m.events;
        s.runs.set(key, { ...m, reset: true, events: events.length > MAX_REPLAY_EVENTS ? events.slice(-MAX_REPLAY_EVENTS) : events });
        // Only the latest job of each kind is on screen: older ones need no replay.
        for (const k of [...s.runs.keys()]) if (k !== key && k.startsWith(`${m.job ?? 'train'}:`)) s.runs.delete(k);
        if (m.reset) s.runStates.delete(key);
        break;
      }
      case 'runState': s.runStates.set(`${m.job}:${m.runId}`, m); break;
      case 'results': s.results = m; break;
      case 'evalTable': s.tables.set(m.table.title, m); break;
      case 'detectionPreview': s.detection = m; break;
      case 'clear':
        if (m.what === 'explanation' || m.what === 'all') s.explanation = undefined;
        if (m.what === 'run' || m.what === 'all') { s.runs.clear(); s.runStates.clear(); s.detection = undefined; }
        if (m.what === 'tables' || m.what === 'all') { s.tables.clear(); s.results = undefined; }
        break;
      default: break;
    }
  }

  private replay(t: Target): void {
    const s = this.snapshot;
    const msgs: HostMessage[] = [
      ...s.runs.values(), ...s.runStates.values(), ...(s.results ? [s.results] : []), ...s.tables.values(),
      ...(s.detection ? [s.detection] : []), ...(s.explanation ? [s.explanation] : []),
    ];
    for (const m of msgs) void t.webview.postMessage(m);
  }

  async showExplanation(payload: ExplanationPayload, selectIndex?: number, study?: StudyRef): Promise<void> {
    this.post({ type: 'explanation', payload, selectIndex, ...(study ? { study } : {}) });
    await this.reveal();
  }

  runEvents(runId: string, events: EngineEvent[], reset: boolean, job: JobKind = 'train'): void {
    this.post({ type: 'runEvents', runId, events, reset, job });
  }

  runState(runId: string, job: JobKind, state: PanelJobState): void {
    this.post({ type: 'runState', runId, job, state });
  }

  showResults(msg: ResultsMessage): void {
    this.post(msg);
  }

  showDetectionPreview(msg: DetectionPreviewMessage): void {
    this.post(msg);
  }

  showTable(table: TableData): void {
    this.post({ type: 'evalTable', table });
  }

  private onMessage(t: Target, m: unknown): void {
    if (!isWebviewMessage(m)) {
      this.log.warn('panel: ignored a malformed message');
      return;
    }
    switch (m.type) {
      case 'ready': {
        t.ready = true;
        // The page restored its own state; the host's is newer (it may come from the other page).
        this.replay(t);
        const pending = t.queue;
        t.queue = [];
        for (const msg of pending) void t.webview.postMessage(msg);
        break;
      }
      case 'error':
        this.log.error(`panel: ${m.message}`);
        break;
      case 'wordSelected':
        // The other page follows the selection (side bar and tab show the same word).
        if (this.snapshot.explanation) this.snapshot.explanation = { ...this.snapshot.explanation, selectIndex: m.index };
        for (const other of this.targets) if (other !== t && other.ready) void other.webview.postMessage({ type: 'selectWord', index: m.index });
        break;
      case 'request':
        this.answer(m).then(
          () => this.send(t, { type: 'response', id: m.id, ok: true }),
          (err: unknown) => this.send(t, { type: 'response', id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
        );
        break;
    }
  }

  private async answer(m: RequestMessage): Promise<void> {
    if (m.method === 'openFile') {
      await vscode.window.showTextDocument(vscode.Uri.file(m.path), { preview: true });
      return;
    }
    if (m.method === 'stepStudy') {
      if (!this.stepStudy) throw new Error('no dataset study is open');
      await this.stepStudy(m.step);
      return;
    }
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(m.reportPath));
    const range = new vscode.Range(doc.positionAt(m.start), doc.positionAt(m.end));
    await vscode.window.showTextDocument(doc, { selection: range, preserveFocus: false });
  }

  dispose(): void {
    for (const t of this.targets) for (const d of t.disposables) d.dispose();
    this.targets.clear();
    this.tab?.dispose();
    for (const d of this.disposables) d.dispose();
  }
}

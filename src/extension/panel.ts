// The side-panel webview view: serves the webview/ bundle under a strict CSP, posts typed
// HostMessages (queued until the page says `ready`), answers WebviewMessage requests by id.
// The page keeps its own state (getState/setState), so nothing is re-sent on hide/show.
import * as vscode from 'vscode';
import type { EngineEvent } from '../protocol/events';
import type { ExplanationPayload } from '../protocol/explain';
import { isWebviewMessage, type DetectionPreviewMessage, type HostMessage, type RequestMessage, type TableData } from '../protocol/webview-messages';
import { createNonce, renderWebviewHtml } from './webview-html';

export const PANEL_VIEW_ID = 'reclf.panel';

export class PanelProvider implements vscode.WebviewViewProvider, vscode.Disposable {
  private view: vscode.WebviewView | undefined;
  private ready = false;
  private queue: HostMessage[] = [];
  private readonly disposables: vscode.Disposable[] = [];

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: vscode.LogOutputChannel) {}

  resolveWebviewView(view: vscode.WebviewView): void {
    this.view = view;
    this.ready = false;
    const dist = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    view.webview.options = {
      enableScripts: true,
      localResourceRoots: [dist, vscode.Uri.joinPath(this.extensionUri, 'media')],
    };
    view.webview.html = renderWebviewHtml({
      cspSource: view.webview.cspSource,
      nonce: createNonce(),
      scriptUri: view.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'main.js')).toString(),
      styleUri: view.webview.asWebviewUri(vscode.Uri.joinPath(dist, 'main.css')).toString(),
    });
    this.disposables.push(
      view.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      view.onDidDispose(() => { this.view = undefined; this.ready = false; }),
    );
  }

  /** Reveals the view (resolving it if needed); messages posted meanwhile are queued. */
  async reveal(): Promise<void> {
    if (this.view) this.view.show(true);
    else await vscode.commands.executeCommand(`${PANEL_VIEW_ID}.focus`);
  }

  post(message: HostMessage): void {
    if (this.view && this.ready) {
      void this.view.webview.postMessage(message);
      return;
    }
    // Only the latest explanation matters; run events and tables accumulate.
    if (message.type === 'explanation') this.queue = this.queue.filter((m) => m.type !== 'explanation');
    this.queue.push(message);
    if (this.queue.length > 500) this.queue.splice(0, this.queue.length - 500);
  }

  async showExplanation(payload: ExplanationPayload, selectIndex?: number): Promise<void> {
    this.post({ type: 'explanation', payload, selectIndex });
    await this.reveal();
  }

  runEvents(runId: string, events: EngineEvent[], reset: boolean): void {
    this.post({ type: 'runEvents', runId, events, reset });
  }

  showDetectionPreview(msg: DetectionPreviewMessage): void {
    this.post(msg);
  }

  showTable(table: TableData): void {
    this.post({ type: 'evalTable', table });
  }

  private onMessage(m: unknown): void {
    if (!isWebviewMessage(m)) {
      this.log.warn('panel: ignored a malformed message');
      return;
    }
    switch (m.type) {
      case 'ready': {
        this.ready = true;
        const pending = this.queue;
        this.queue = [];
        for (const msg of pending) void this.view?.webview.postMessage(msg);
        break;
      }
      case 'error':
        this.log.error(`panel: ${m.message}`);
        break;
      case 'wordSelected':
        break;
      case 'request':
        this.answer(m).then(
          () => this.post({ type: 'response', id: m.id, ok: true }),
          (err: unknown) => this.post({ type: 'response', id: m.id, ok: false, error: err instanceof Error ? err.message : String(err) }),
        );
        break;
    }
  }

  private async answer(m: RequestMessage): Promise<void> {
    if (m.method === 'openFile') {
      await vscode.window.showTextDocument(vscode.Uri.file(m.path), { preview: true });
      return;
    }
    const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(m.reportPath));
    const range = new vscode.Range(doc.positionAt(m.start), doc.positionAt(m.end));
    await vscode.window.showTextDocument(doc, { selection: range, preserveFocus: false });
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

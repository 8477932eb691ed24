// Read-only virtual documents for reports the product opened: a dataset study's report (inline in
// its manifest) or a report typed for an image. Each is `reclf-study:/<dataset>/<id>.txt`; the
// hover provider reads the image and text from here, so hovers work on any report we showed.
import * as vscode from 'vscode';

export const STUDY_SCHEME = 'reclf-study';

export interface StudyDocument {
  text: string;
  image: string;
  id: string;
  /** The manifest the study comes from (absent for a typed report). */
  manifest?: string;
}

export class StudyDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly docs = new Map<string, StudyDocument>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  /** Registers a report and returns its URI (the same study always gets the same URI). */
  add(doc: StudyDocument, group: string): vscode.Uri {
    const safe = (s: string): string => s.replace(/[^\w.-]+/g, '_');
    const uri = vscode.Uri.from({ scheme: STUDY_SCHEME, path: `/${safe(group)}/${safe(doc.id)}.txt` });
    const had = this.docs.get(uri.toString());
    this.docs.set(uri.toString(), doc);
    if (had && had.text !== doc.text) this.changed.fire(uri);
    return uri;
  }

  get(uri: vscode.Uri): StudyDocument | undefined {
    return this.docs.get(uri.toString());
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.docs.get(uri.toString())?.text ?? '';
  }

  dispose(): void {
    this.changed.dispose();
  }
}

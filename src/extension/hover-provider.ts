// Hovers on report words. Never blocks: a hover answers from the explanation cache or returns
// undefined at once while the explanation is computed in the background (precomputed when a
// report is opened). Offsets come from the engine payload's words.
import * as vscode from 'vscode';
import path from 'node:path';
import type { ExplanationPayload } from '../protocol/explain';
import type { ExplainRequest, ExplainService, ModelRef } from './explain-service';
import { hoverMarkdown, wordAtOffset } from './hover-content';
import { inlineReport, pairingForReportFile, type InlineReport } from './report-source';

export const SHOW_WORD_COMMAND = 'reclf.showWordInPanel';

/** Arguments of the "Show in panel" command link. */
export interface ShowWordArgs {
  request: ExplainRequest;
  index: number;
}

export const HOVER_SELECTOR: vscode.DocumentSelector = [
  { scheme: 'file', pattern: '**/*.txt' },
  { scheme: 'file', pattern: '**/manifest.jsonl' },
  // Reports the product opened itself (dataset studies, typed reports): see study-documents.ts.
  { scheme: 'reclf-study' },
];

/** A virtual report document's image and text (study-documents.ts), looked up by URI. */
export type VirtualReportLookup = (uri: vscode.Uri) => { image: string; text: string; id: string } | undefined;

interface Located {
  request: ExplainRequest;
  /** Report char offset of the hovered position. */
  offset: number;
  /** Report offset -> document position of the word. */
  toRange(start: number, end: number): vscode.Range;
  /** The report text as the document shows it (to check that payload offsets still apply). */
  text: string;
}

export class ReportHoverProvider implements vscode.HoverProvider {
  private readonly failed = new Map<string, string>();
  /** Ad-hoc report files explained with an image picked by hand (no manifest names the pair). */
  private readonly pairings = new Map<string, string>();

  constructor(
    private readonly explain: ExplainService,
    private readonly model: () => ModelRef | undefined,
    private readonly log: (message: string) => void,
    private readonly virtualReport: VirtualReportLookup = () => undefined,
  ) {}

  /** Remembers that `reportFile` was explained with `image`, so its words get hovers too. */
  rememberPairing(reportFile: string, image: string): void {
    this.pairings.set(path.resolve(reportFile), image);
  }

  provideHover(doc: vscode.TextDocument, pos: vscode.Position, token: vscode.CancellationToken): vscode.Hover | undefined {
    if (token.isCancellationRequested) return undefined;
    const loc = this.locate(doc, pos);
    if (!loc) return undefined;
    const payload = this.explain.peek(loc.request);
    if (!payload) {
      this.precompute(loc.request);
      return undefined;
    }
    const index = wordAtOffset(payload, loc.offset);
    if (index < 0 || token.isCancellationRequested) return undefined;
    const w = payload.words[index];
    // The engine may trim the file's text; offsets apply as long as the word is where it says.
    if (loc.text.slice(w.start, w.end).toLowerCase() !== w.text.toLowerCase()) return undefined;
    const md = new vscode.MarkdownString(hoverMarkdown(payload, index, {
      command: SHOW_WORD_COMMAND, commandArgs: [{ request: loc.request, index } satisfies ShowWordArgs],
    }));
    md.isTrusted = { enabledCommands: [SHOW_WORD_COMMAND] };
    md.supportHtml = false;
    return new vscode.Hover(md, loc.toRange(w.start, w.end));
  }

  /** Starts the explanation of the report in this document, if it is one (e.g. on open). */
  precomputeDocument(doc: vscode.TextDocument): void {
    if (!(doc.uri.scheme === 'file' && doc.fileName.endsWith('.txt')) && doc.uri.scheme !== 'reclf-study') return;
    const loc = this.locate(doc, new vscode.Position(0, 0));
    if (loc) this.precompute(loc.request);
  }

  private precompute(request: ExplainRequest): void {
    const key = JSON.stringify(request);
    if (this.failed.has(key)) return;
    this.explain.explain(request, { silent: true }).catch((err: unknown) => {
      // Remember the failure so hovering does not respawn the engine on every mouse move.
      const message = err instanceof Error ? err.message : String(err);
      this.failed.set(key, message);
      this.log(`hover explanation failed for ${path.basename(request.image)}: ${message}`);
    });
  }

  /** The model changed or the user retried: forget failures. */
  reset(): void {
    this.failed.clear();
  }

  private locate(doc: vscode.TextDocument, pos: vscode.Position): Located | undefined {
    const model = this.model();
    if (!model || doc.isDirty) return undefined;
    if (doc.uri.scheme === 'reclf-study') {
      const v = this.virtualReport(doc.uri);
      if (!v) return undefined;
      return {
        request: { image: v.image, report: { text: v.text, id: v.id }, model },
        offset: doc.offsetAt(pos), text: v.text,
        toRange: (s, e) => new vscode.Range(doc.positionAt(s), doc.positionAt(e)),
      };
    }
    if (path.basename(doc.fileName) === 'manifest.jsonl') {
      const line = doc.lineAt(pos.line).text;
      const inline: InlineReport | undefined = inlineReport(line, doc.fileName);
      if (!inline) return undefined;
      const rel = pos.character - inline.valueStart;
      if (rel < 0 || rel >= inline.colToOffset.length) return undefined;
      const text = inline.pairing.reportText ?? '';
      return {
        request: { image: inline.pairing.image, report: { text, id: inline.pairing.id }, model },
        offset: inline.colToOffset[rel],
        text,
        toRange: (s, e) => new vscode.Range(pos.line, inline.offsetToCol[s], pos.line,
          e < inline.offsetToCol.length ? inline.offsetToCol[e] : inline.valueStart + inline.colToOffset.length),
      };
    }
    const adHoc = this.pairings.get(path.resolve(doc.fileName));
    const pairing = adHoc ? { image: adHoc, reportFile: path.resolve(doc.fileName) } : pairingForReportFile(doc.fileName);
    if (!pairing?.reportFile) return undefined;
    return {
      request: { image: pairing.image, report: { file: pairing.reportFile }, model },
      offset: doc.offsetAt(pos),
      text: doc.getText(),
      toRange: (s, e) => new vscode.Range(doc.positionAt(s), doc.positionAt(e)),
    };
  }
}

/** The payload a "Show in panel" link refers to (computed if the cache was dropped). */
export function payloadFor(explain: ExplainService, args: ShowWordArgs): Promise<ExplanationPayload> {
  return explain.explain(args.request);
}

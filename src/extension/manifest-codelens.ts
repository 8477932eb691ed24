// "Explain this study" above each study of a manifest.jsonl. Lenses are cheap (no engine run):
// the command explains the study when clicked. Capped so a 100k-line manifest stays responsive.
import * as vscode from 'vscode';

export const MANIFEST_SELECTOR: vscode.DocumentSelector = [{ scheme: 'file', pattern: '**/manifest.jsonl' }];
export const EXPLAIN_STUDY_COMMAND = 'reclf.explainStudy';
const MAX_LENSES = 5000;

/** Arguments of reclf.explainStudy from a lens (a palette call has none and shows a picker). */
export interface ExplainStudyArgs { manifest: string; id: string }

/** The study id of a manifest line, without parsing the whole JSON (lines can hold long reports). */
export function lineStudyId(line: string): string | undefined {
  if (!line.trimStart().startsWith('{')) return undefined;
  const m = /"id"\s*:\s*"((?:[^"\\]|\\.)*)"/.exec(line);
  if (!m) return undefined;
  try { return JSON.parse(`"${m[1]}"`) as string; } catch { return undefined; }
}

export class ManifestCodeLensProvider implements vscode.CodeLensProvider {
  provideCodeLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
    const out: vscode.CodeLens[] = [];
    const n = Math.min(doc.lineCount, MAX_LENSES);
    for (let i = 0; i < n; i++) {
      const id = lineStudyId(doc.lineAt(i).text);
      if (!id) continue;
      out.push(new vscode.CodeLens(new vscode.Range(i, 0, i, 0), {
        title: 'Explain this study', command: EXPLAIN_STUDY_COMMAND,
        arguments: [{ manifest: doc.uri.fsPath, id } satisfies ExplainStudyArgs],
      }));
    }
    return out;
  }
}

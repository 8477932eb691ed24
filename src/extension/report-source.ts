// Where a report's text sits and which image it pairs with, from the dataset manifest: a `.txt`
// named by some line's `report_file`, or the `report` string of a manifest.jsonl line.
// Pure Node (no `vscode`); manifests are cached by mtime.
import fs from 'node:fs';
import path from 'node:path';

export interface ReportPairing {
  id: string;
  image: string;
  /** Absolute report file, or undefined when the report is inline in the manifest. */
  reportFile?: string;
  reportText?: string;
}

interface ManifestIndex {
  mtimeMs: number;
  byReportFile: Map<string, ReportPairing>;
}

const manifests = new Map<string, ManifestIndex>();

function loadIndex(manifest: string): ManifestIndex | undefined {
  let st: fs.Stats;
  try {
    st = fs.statSync(manifest);
  } catch {
    return undefined;
  }
  const hit = manifests.get(manifest);
  if (hit && hit.mtimeMs === st.mtimeMs) return hit;
  const dir = path.dirname(manifest);
  const byReportFile = new Map<string, ReportPairing>();
  for (const line of fs.readFileSync(manifest, 'utf8').split('\n')) {
    const rec = parseRecord(line);
    if (rec && typeof rec.report_file === 'string') {
      const reportFile = path.resolve(dir, rec.report_file);
      byReportFile.set(reportFile, { id: rec.id, image: path.resolve(dir, rec.image), reportFile });
    }
  }
  const index = { mtimeMs: st.mtimeMs, byReportFile };
  manifests.set(manifest, index);
  return index;
}

interface ManifestRecord { id: string; image: string; report?: unknown; report_file?: unknown }

function parseRecord(line: string): ManifestRecord | undefined {
  if (!line.trim().startsWith('{')) return undefined;
  try {
    const r = JSON.parse(line) as Record<string, unknown>;
    if (typeof r.id === 'string' && typeof r.image === 'string') return r as unknown as ManifestRecord;
  } catch {
    /* a broken line has no pairing */
  }
  return undefined;
}

/** The nearest manifest.jsonl at or above the file's folder (up to `maxDepth` levels). */
export function findManifest(file: string, maxDepth = 6): string | undefined {
  let dir = path.dirname(path.resolve(file));
  for (let i = 0; i <= maxDepth; i++) {
    const m = path.join(dir, 'manifest.jsonl');
    if (fs.existsSync(m)) return m;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}

export function pairingForReportFile(file: string): ReportPairing | undefined {
  const manifest = findManifest(file);
  return manifest ? loadIndex(manifest)?.byReportFile.get(path.resolve(file)) : undefined;
}

/** An inline report of one manifest line with a map from line column to report char offset. */
export interface InlineReport {
  pairing: ReportPairing;
  /** Column in the line of the report string's first content char. */
  valueStart: number;
  /** colToOffset[c - valueStart] = offset in the decoded report (for every raw char of the literal). */
  colToOffset: Int32Array;
  /** offsetToCol[o] = column of the decoded char o. */
  offsetToCol: Int32Array;
}

const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/** Finds the top-level "report" string literal of a manifest line and maps its columns. */
export function inlineReport(line: string, manifestFile: string): InlineReport | undefined {
  const rec = parseRecord(line);
  if (!rec || typeof rec.report !== 'string') return undefined;
  // The literal follows "report" + optional spaces + ':' (keys are unique per the manifest format).
  const m = /"report"\s*:\s*"/.exec(line);
  if (!m) return undefined;
  const valueStart = m.index + m[0].length;
  const cols: number[] = [];
  const offToCol: number[] = [];
  let text = '';
  let i = valueStart;
  while (i < line.length && line[i] !== '"') {
    const startCol = i;
    let ch: string;
    if (line[i] === '\\') {
      const e = line[i + 1];
      if (e === 'u') { ch = String.fromCharCode(parseInt(line.slice(i + 2, i + 6), 16)); i += 6; }
      else { ch = SIMPLE_ESCAPES[e] ?? e; i += 2; }
    } else {
      ch = line[i];
      i += 1;
    }
    for (let c = startCol; c < i; c++) cols.push(text.length);
    offToCol.push(startCol);
    text += ch;
  }
  if (text !== rec.report) return undefined; // duplicated key or odd encoding: do not guess
  const dir = path.dirname(manifestFile);
  return {
    pairing: { id: rec.id, image: path.resolve(dir, rec.image), reportText: text },
    valueStart,
    colToOffset: Int32Array.from(cols),
    offsetToCol: Int32Array.from(offToCol),
  };
}

// The studies of a dataset as a picker shows them (pure Node): id, positive labels and the first
// words of the report, from manifest.jsonl. Reports kept in files (report_file) are read when a
// study is explained, not when the list is built (a dataset may hold 100k studies).
import fs from 'node:fs';
import path from 'node:path';

export interface Study {
  id: string;
  /** 0-based position in the manifest's valid studies (next/previous walk this order). */
  index: number;
  /** Absolute image path. */
  image: string;
  split?: string;
  /** Labels marked positive (1). */
  labels: string[];
  /** The inline report, when the manifest holds it. */
  report?: string;
  /** Absolute report file, when the manifest names one. */
  reportFile?: string;
  /** 1-based line of the manifest (the CodeLens and "reveal in manifest"). */
  line: number;
}

export function readStudies(manifest: string): Study[] {
  const dir = path.dirname(manifest);
  const out: Study[] = [];
  const lines = fs.readFileSync(manifest, 'utf8').split('\n');
  lines.forEach((text, i) => {
    if (!text.trim().startsWith('{')) return;
    let r: Record<string, unknown>;
    try { r = JSON.parse(text) as Record<string, unknown>; } catch { return; }
    if (typeof r.id !== 'string' || typeof r.image !== 'string') return;
    const labels = typeof r.labels === 'object' && r.labels !== null
      ? Object.entries(r.labels as Record<string, unknown>).filter(([, v]) => v === 1).map(([k]) => k) : [];
    out.push({
      id: r.id, index: out.length, image: path.resolve(dir, r.image), labels, line: i + 1,
      ...(typeof r.split === 'string' ? { split: r.split } : {}),
      ...(typeof r.report === 'string' ? { report: r.report } : {}),
      ...(typeof r.report_file === 'string' ? { reportFile: path.resolve(dir, r.report_file) } : {}),
    });
  });
  return out;
}

/** The report text of a study (its file read now, when it has one). */
export function studyReport(s: Study): string {
  if (s.report !== undefined) return s.report;
  if (s.reportFile) return fs.readFileSync(s.reportFile, 'utf8');
  throw new Error(`study ${s.id} has no report`);
}

/** The first words of a report, for a picker's detail line. */
export function firstWords(text: string | undefined, n = 14): string {
  if (!text) return '';
  const words = text.replace(/\s+/g, ' ').trim().split(' ');
  return words.slice(0, n).join(' ') + (words.length > n ? ' …' : '');
}

/** Every label that is positive in some study, most frequent first. */
export function labelCounts(studies: readonly Study[]): Array<[string, number]> {
  const c = new Map<string, number>();
  for (const s of studies) for (const l of s.labels) c.set(l, (c.get(l) ?? 0) + 1);
  return [...c].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

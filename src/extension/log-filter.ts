// What of the engine's stderr reaches the "RECLF Engine" output channel. Third-party noise that a
// user cannot act on is dropped (Dawn's "artificially reduced" limit notices, TF.js's banners), and
// the backend probe list the engine prints at each start ("+ wasm available ...", "- tfjs-node
// unavailable: ...") is folded into the one summary line before it, kept for "Show Backend Probes".
// Pure (no `vscode`): lines in, lines out.

/** Lines from libraries, never from the engine's own reporting. */
const NOISE: readonly RegExp[] = [
  /artificially reduced/i, // Dawn: maxDynamic*BuffersPerPipelineLayout reduced to fit its limits
  /Hi there 👋|Looks like you are running TensorFlow\.js in Node\.js/i,
  /To speed things up dramatically, install our node backend/i,
  /visit https:\/\/github\.com\/tensorflow\/tfjs-node for more details/i,
  /^\s*={5,}\s*$/, // the banner's frame
  /Platform (node|browser) has already been set/i,
  /is already registered\. Reusing existing/i,
  /The kernel '.*' for backend '.*' is already registered/i,
];

/** The probe lines of `describeBackends`: "+ name  available ..." / "- name  unavailable: ...". */
const PROBE = /^[+-] [\w-]+\s+(available|unavailable)\b/;
const BACKEND = /^backend: (\S+)(?: \((.*)\))?/;

export interface FilteredLine { level: 'info' | 'warn'; text: string }

export class EngineLogFilter {
  private probes: string[] = [];
  private pendingSummary: string | undefined;
  /** The latest start's full probe list, for "Show Backend Probes". */
  lastProbes: string[] = [];

  /** Lines to show for one line of engine stderr (none, one, or a held summary plus this one). */
  push(raw: string): FilteredLine[] {
    const line = raw.replace(/\r/g, '').replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
    if (!line.trim()) return [];
    if (NOISE.some((re) => re.test(line))) return [];
    const m = BACKEND.exec(line);
    if (m) {
      const out = this.flush();
      this.probes = [];
      this.pendingSummary = `backend: ${m[1]}${m[2] ? ` on ${m[2]}` : ''}`;
      return out;
    }
    if (this.pendingSummary !== undefined && PROBE.test(line)) {
      this.probes.push(line);
      return [];
    }
    return [...this.flush(), { level: 'info', text: line }];
  }

  /** The held backend summary, once its probe list has ended. */
  flush(): FilteredLine[] {
    if (this.pendingSummary === undefined) return [];
    const summary = this.pendingSummary;
    this.pendingSummary = undefined;
    if (!this.probes.length) return [{ level: 'info', text: summary }];
    this.lastProbes = this.probes;
    const available = this.probes.filter((p) => p.startsWith('+')).length;
    this.probes = [];
    return [{ level: 'info', text: `${summary} (${available} of ${this.lastProbes.length} backends available; "RECLF: Show Backend Probes" lists them)` }];
  }
}

/** One line at the top of a run's log: what runs where. */
export function runHeaderLine(title: string, backend: string | undefined, device: string | undefined, resumedFrom?: number): string {
  const where = backend ? `${backend}${device ? ` on ${device}` : ''}` : 'backend not reported';
  return `── ${title}: ${where}${resumedFrom !== undefined ? ` · resumed at step ${resumedFrom}` : ''} ──`;
}

// Live training curves from engine events: loss per step and every metric series (name/split),
// plus the run's status line. The accumulated view is plain JSON so it can be kept in state.
// History spans resumes: a resumed run repeats steps after its checkpoint, and a point at or before
// the last one replaces the tail (the series stays one curve in step order). Charts are small
// multiples: each loss on its own axis, each metric family (retrieval accuracies, AUROCs, word-level
// grounding) on another, validation beside training, measured baselines dashed.
import type { EngineEvent } from '../src/protocol/events';
import { deviceLabel, type AdapterInfo } from '../src/protocol/device';
import { el, fmtNum, svg } from './dom';

export type Point = [number, number];

export interface RunView {
  runId: string;
  status: 'running' | 'ok' | 'cancelled' | 'failed' | 'requeued' | 'incomplete';
  backend?: string;
  device?: string;
  adapter?: AdapterInfo;
  step: number;
  totalSteps: number;
  epoch: number;
  itemsPerS?: number;
  etaS?: number;
  loss: Point[];
  /** key `${name} (${split})` */
  metrics: Record<string, Point[]>;
  error?: string;
  warnings: number;
  /** Steps at which the run was resumed (drawn as markers). */
  resumes?: number[];
}

/** Series longer than this are halved (every other point kept) so long runs stay cheap to draw and store. */
export const MAX_POINTS = 1000;

export function emptyRun(runId: string): RunView {
  return { runId, status: 'running', step: 0, totalSteps: 0, epoch: 0, loss: [], metrics: {}, warnings: 0 };
}

function push(series: Point[], p: Point): void {
  // A resume re-runs steps after its checkpoint: the new points replace the old tail.
  while (series.length && series[series.length - 1][0] >= p[0]) series.pop();
  series.push(p);
  if (series.length > MAX_POINTS) {
    let w = 0;
    for (let r = 0; r < series.length; r += 2) series[w++] = series[r];
    if (series[w - 1] !== p) series[w++] = p;
    series.length = w;
  }
}

/** Folds events into the view (mutates and returns it). Non-finite values are skipped, not plotted. */
export function accumulateRun(view: RunView, events: readonly EngineEvent[]): RunView {
  for (const e of events) {
    switch (e.type) {
      case 'run_started':
        view.backend = e.backend; view.device = e.device; view.status = 'running';
        delete view.error;
        if (e.adapter) view.adapter = e.adapter; else delete view.adapter;
        if (e.resumed_from_step !== undefined) (view.resumes ??= []).push(e.resumed_from_step);
        break;
      case 'progress':
        view.step = e.step; view.totalSteps = e.total_steps; view.epoch = e.epoch;
        view.itemsPerS = e.items_per_s; view.etaS = e.eta_s;
        if (Number.isFinite(e.loss)) push(view.loss, [e.step, e.loss]);
        break;
      case 'metric': {
        // The training loss is the progress events' series already.
        if (!Number.isFinite(e.value) || (e.name === 'loss' && e.split === 'train')) break;
        const key = `${e.name} (${e.split})`;
        push(view.metrics[key] ??= [], [e.step, e.value]);
        break;
      }
      case 'warning': view.warnings++; break;
      case 'error': view.error = `${e.code}: ${e.message}`; break;
      case 'run_finished': view.status = e.status; break;
      default: break;
    }
  }
  return view;
}

export interface Bounds { x0: number; x1: number; y0: number; y1: number }

export function seriesBounds(all: Point[][]): Bounds | undefined {
  let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
  for (const s of all) for (const [x, y] of s) {
    x0 = Math.min(x0, x); x1 = Math.max(x1, x); y0 = Math.min(y0, y); y1 = Math.max(y1, y);
  }
  if (!Number.isFinite(x0)) return undefined;
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  return { x0, x1, y0, y1 };
}

/** SVG polyline points for a series inside a w x h plot area (y up). */
export function polylinePoints(s: Point[], b: Bounds, w: number, h: number): string {
  return s.map(([x, y]) => `${(((x - b.x0) / (b.x1 - b.x0)) * w).toFixed(1)},${(h - ((y - b.y0) / (b.y1 - b.y0)) * h).toFixed(1)}`).join(' ');
}

const W = 300, H = 120, PADL = 44, PADB = 18, PADT = 6, PADR = 8;

export interface ChartSeries {
  name: string;
  points: Point[];
  /** CSS classes of the line: split colour, `baseline` (dashed). */
  cls: string;
}

function chart(title: string, series: ChartSeries[], resumes: readonly number[] = []): HTMLElement {
  const b = seriesBounds(series.map((s) => s.points));
  const fig = el('figure', { class: 'chart', 'data-family': title }, el('figcaption', {}, title));
  if (!b) return fig;
  const w = W - PADL - PADR, h = H - PADT - PADB;
  const plot = svg('g', { transform: `translate(${PADL} ${PADT})` },
    svg('rect', { class: 'plot-bg', x: 0, y: 0, width: w, height: h }),
    svg('text', { class: 'tick', x: -4, y: 0, 'text-anchor': 'end', 'dominant-baseline': 'hanging' }, fmtNum(b.y1)),
    svg('text', { class: 'tick', x: -4, y: h, 'text-anchor': 'end' }, fmtNum(b.y0)),
    svg('text', { class: 'tick', x: 0, y: h + 13 }, String(b.x0)),
    svg('text', { class: 'tick', x: w, y: h + 13, 'text-anchor': 'end' }, `step ${b.x1}`));
  for (const r of resumes) {
    if (r <= b.x0 || r >= b.x1) continue;
    const x = (((r - b.x0) / (b.x1 - b.x0)) * w).toFixed(1);
    plot.append(svg('line', { class: 'resume-mark', x1: x, x2: x, y1: 0, y2: h }, svg('title', {}, `resumed at step ${r}`)));
  }
  for (const s of series) plot.append(svg('polyline', { class: `line ${s.cls}`, points: polylinePoints(s.points, b, w, h) }));
  fig.append(svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': `${title}: ${series.map((s) => `${s.name} last ${fmtNum(s.points.at(-1)?.[1] ?? NaN)}`).join('; ')}` }, plot));
  fig.append(el('ul', { class: 'chart-legend' }, ...series.map((s) => el('li', { class: s.cls }, `${s.name}: ${fmtNum(s.points.at(-1)?.[1] ?? NaN)}`))));
  return fig;
}

const SPLIT_CLASS: Record<string, string> = { train: 'c0', valid: 'c1', test: 'c2' };

/** Whether a metric is a measured baseline of another (uniform attention, random init). */
export function isBaseline(name: string): boolean {
  return /_uniform$|^uniform_|random_init_/.test(name);
}

/**
 * The chart a metric belongs on: each loss alone (losses differ in scale from each other and from
 * rates), rates grouped by family; a baseline goes with the metric it is the floor of.
 */
export function metricFamily(name: string): string {
  const base = name.replace(/_uniform$/, '').replace(/^random_init_/, '').replace(/^uniform_/, '');
  if (/loss/i.test(base)) return base;
  if (base.includes('/')) return base.slice(0, base.indexOf('/'));
  if (/pointing|grounding|mass_inside|attention_entropy/i.test(base)) return 'grounding';
  if (/relation|srm|pair_auroc|top1/i.test(base)) return 'relations';
  if (/importance|irm|pooled_auroc/i.test(base)) return 'importance';
  if (/(^|_)(i2t|t2i)_|acc\d|R@\d|recall/i.test(base)) return 'retrieval';
  if (/auroc|auc/i.test(base)) return 'auroc';
  return base;
}

/** The run's charts: the training loss with its validation loss first, then one chart per family. */
export function chartGroups(v: RunView): Array<{ title: string; series: ChartSeries[] }> {
  const groups = new Map<string, ChartSeries[]>();
  const add = (family: string, s: ChartSeries): void => { (groups.get(family) ?? groups.set(family, []).get(family)!).push(s); };
  if (v.loss.length) add('loss', { name: 'loss (train)', points: v.loss, cls: 'c0' });
  for (const [key, points] of Object.entries(v.metrics)) {
    const m = /^(.*) \((\w+)\)$/.exec(key);
    const name = m ? m[1] : key, split = m ? m[2] : '';
    const cls = isBaseline(name) ? 'baseline' : SPLIT_CLASS[split] ?? 'c3';
    add(metricFamily(name), { name: key, points, cls });
  }
  return [...groups].map(([title, series]) => ({ title, series }));
}

/**
 * The run header after the run's name: "running · step 200/300 · epoch 4 · ETA 50 s · NVIDIA H100
 * · 2 warnings". The device is its short label (the GPU's name, "software GPU (llvmpipe)", "cpu").
 */
const STATUS_WORD: Record<RunView['status'], string> = {
  running: 'running', ok: 'finished', cancelled: 'cancelled', failed: 'failed', requeued: 'requeued', incomplete: 'stopped',
};

export function runStatusText(v: RunView): string {
  const eta = v.status === 'running' && v.etaS !== undefined && Number.isFinite(v.etaS) ? ` · ETA ${Math.round(v.etaS)} s` : '';
  const device = deviceLabel(v.backend, v.device, v.adapter);
  return ` · ${STATUS_WORD[v.status]} · step ${v.step}/${v.totalSteps} · epoch ${v.epoch}${eta}`
    + (device ? ` · ${device}` : '')
    + (v.warnings ? ` · ${v.warnings} warning${v.warnings > 1 ? 's' : ''}` : '');
}

export function renderRun(v: RunView): HTMLElement {
  const pct = v.totalSteps > 0 ? Math.min(100, (100 * v.step) / v.totalSteps) : 0;
  const bar = el('span', { class: 'progress-fill' });
  bar.style.width = `${pct.toFixed(1)}%`;
  // The engine's own words (backend, full device text) on hover.
  const raw = [v.backend, v.device].filter(Boolean).join(': ');
  return el('div', { class: 'run' },
    el('div', { class: `run-status status-${v.status}`, ...(raw ? { title: raw } : {}) },
      el('strong', {}, v.runId), runStatusText(v)),
    el('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': pct.toFixed(0) }, bar),
    v.error ? el('p', { class: 'run-error', role: 'alert' }, v.error) : null,
    el('div', { class: 'charts' }, ...chartGroups(v).map((g) => chart(g.title, g.series, v.resumes))));
}

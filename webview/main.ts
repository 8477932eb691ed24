// Side-panel app: receives host messages, draws the explanation (heatmap, report, relation
// graph, importance bars, word table), run curves and eval tables, and keeps its state across
// hide/show. It never computes science: everything drawn comes from the protocol payloads.
import { isHostMessage, type HostMessage, type TableData, type WebviewRequest } from '../src/protocol/webview-messages';
import { distributionNote, type ExplanationPayload } from '../src/protocol/explain';
import { parseCssColor, type Rgb } from './colormap';
import { el, section, fmtNum } from './dom';
import { createHeatmap } from './heatmap';
import { createReportView } from './report-view';
import { createRelationGraph } from './relation-graph';
import { createImportanceBars } from './importance-bars';
import { createWordTable } from './a11y-table';
import { createWordDetails, importanceRanks } from './word-details';
import { accumulateRun, emptyRun, renderRun } from './curves';
import { accumulateJob, emptyJob, renderJob } from './jobs';
import { renderResults } from './results-view';
import { renderTable } from './tables';
import {
  createStateWriter, readState, restoreDetectionPreview, restoreExplanation, storeDetectionPreview, storeExplanation, type PanelState,
} from './state';
import { renderDetectionPreview } from './detection-preview';

export interface PanelPerf {
  /** Script time of each word switch (ms). */
  select: number[];
  /** Message received -> every view drawn (ms), per explanation. */
  firstRender: number[];
  /** Script time of each redraw of the run view on a progress update (ms). */
  progress: number[];
}

declare global {
  interface Window { reclfPerf: PanelPerf }
}

const vscode = acquireVsCodeApi();
const state: PanelState = readState(vscode.getState());
const writer = createStateWriter(vscode);
const perf: PanelPerf = { select: [], firstRender: [], progress: [] };
window.reclfPerf = perf;

let payload: ExplanationPayload | undefined;
let ranks: Int32Array = new Int32Array(0);
let nextId = 1;
const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

function request(req: WebviewRequest): Promise<unknown> {
  const id = nextId++;
  vscode.postMessage({ type: 'request', id, ...req });
  return new Promise((resolve, reject) => pending.set(id, { resolve, reject }));
}

function reportError(err: unknown): void {
  vscode.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}

function themeBackground(): Rgb {
  const cs = getComputedStyle(document.body);
  return parseCssColor(cs.getPropertyValue('--vscode-sideBar-background'))
    ?? parseCssColor(cs.getPropertyValue('--vscode-editor-background'))
    ?? parseCssColor(cs.backgroundColor) ?? [30, 30, 30];
}

// ---- views ------------------------------------------------------------------------------

const heatmap = createHeatmap({
  onOpacity(o) { state.opacity = o; writer.write(state); },
  onPalette(p) { state.palette = p; recolour(); writer.write(state); },
  onScale(sc) { state.scale = sc; writer.write(state); },
}, { opacity: state.opacity, palette: state.palette, scale: state.scale });
const report = createReportView({
  onSelect: (i) => select(i, true),
  onReveal(i) {
    const w = payload?.words[i];
    if (payload?.reportPath && w) request({ method: 'revealWord', reportPath: payload.reportPath, start: w.start, end: w.end }).catch(reportError);
  },
});
const details = createWordDetails((i) => select(i, true));
const graph = createRelationGraph((i) => select(i, true));
const bars = createImportanceBars((i) => select(i, true));
const wordTable = createWordTable((i) => select(i, true));

const header = el('header', { class: 'panel-header' });
const studyNav = el('nav', { class: 'study-nav', 'aria-label': 'Dataset study' });
const explainSections = el('div', { class: 'explain' },
  header, studyNav,
  section('sec-image', 'Image attention', heatmap.root),
  section('sec-report', 'Report', report.root, details.root),
  section('sec-graph', 'Relations (SRM)', graph.root),
  section('sec-importance', 'Importance (IRM)', bars.root),
  section('sec-table', 'Word table', wordTable.root));
// The word table can be long: it starts collapsed, the summary stays reachable.
explainSections.querySelector('#sec-table')?.removeAttribute('open');
const runBody = el('div', { class: 'run-body' });
const runSection = section('sec-run', 'Training run', runBody);
const jobsBody = el('div', { class: 'jobs-body' });
const jobsSection = section('sec-jobs', 'Jobs', jobsBody);
const resultsBody = el('div', { class: 'results-body' });
const resultsSection = section('sec-results', 'Results', resultsBody);
const tablesBody = el('div', { class: 'tables-body' });
const tablesSection = section('sec-tables', 'Tables', tablesBody);
const detectionBody = el('div', { class: 'detection-body' });
const detectionSection = section('sec-detection', 'Detection preview', detectionBody);
const empty = el('p', { class: 'empty' }, 'Run ', el('strong', {}, 'RECLF: Explain Image + Report'), ' to see what the model looks at.');

const app = document.getElementById('app') as HTMLElement;
app.replaceChildren(empty, explainSections, runSection, jobsSection, resultsSection, tablesSection, detectionSection);

function renderHeader(p: ExplanationPayload): void {
  const src = p.image.sourcePath ? p.image.sourcePath.split(/[\\/]/).pop() ?? '' : '';
  header.replaceChildren(
    el('div', { class: 'model' }, el('span', { class: 'badge' }, p.model.method), ' ', el('span', { class: 'model-name' }, p.model.name),
      src ? el('span', { class: 'muted' }, ` · ${src}`) : null),
    el('div', { class: 'scores' },
      el('span', { class: 'score', title: 'Global image-report similarity' }, 'global ', el('strong', {}, fmtNum(p.scores.global))),
      el('span', { class: 'score', title: 'Local (word-region) matching score' }, 'local ', el('strong', {}, fmtNum(p.scores.local))),
      el('span', { class: 'score' }, `${p.words.length} words · ${p.grid[0]}×${p.grid[1]} regions`)),
    // One line, not a flat map without comment, when the image is unlike the model's training images.
    ...[distributionNote(p.distribution)].filter((n): n is string => Boolean(n)).map((n) => el('div', { class: 'ood-note', role: 'note' }, n)));
}

function recolour(): void {
  report.recolour(state.palette, themeBackground());
  if (payload) graph.setData(payload.words, payload.relation, payload.importance, state.palette);
  if (payload) bars.setData(payload.words, payload.importance, payload.wordScore, state.palette);
  if (payload) { graph.select(state.selected); bars.select(state.selected); }
}

function renderStudyNav(): void {
  const st = state.study;
  if (!st) { studyNav.replaceChildren(); studyNav.hidden = true; return; }
  const step = (d: 1 | -1) => (): void => { request({ method: 'stepStudy', step: d }).catch(reportError); };
  const prev = el('button', { class: 'chip', id: 'study-prev', title: 'Explain the previous study of the dataset' }, '‹ previous');
  const next = el('button', { class: 'chip', id: 'study-next', title: 'Explain the next study of the dataset' }, 'next ›');
  prev.addEventListener('click', step(-1));
  next.addEventListener('click', step(1));
  studyNav.hidden = false;
  studyNav.replaceChildren(prev,
    el('span', { class: 'study-id' }, `${st.dataset} · study ${st.index + 1} of ${st.total} · ${st.id}`),
    el('span', { class: 'muted' }, st.labels.length ? ` · ${st.labels.join(', ')}` : ' · no finding'), next);
}

function updateVisibility(): void {
  empty.hidden = payload !== undefined || state.run !== undefined || state.tables.length > 0 || state.detection !== undefined
    || state.jobs.length > 0 || state.results !== undefined;
  jobsSection.hidden = state.jobs.length === 0;
  resultsSection.hidden = state.results === undefined;
  detectionSection.hidden = state.detection === undefined;
  explainSections.hidden = payload === undefined;
  runSection.hidden = state.run === undefined;
  tablesSection.hidden = state.tables.length === 0;
}

function select(index: number, fromUser: boolean): void {
  if (!payload || index < 0 || index >= payload.words.length) return;
  const t0 = performance.now();
  const M = payload.grid[0] * payload.grid[1];
  state.selected = index;
  const word = payload.words[index].text;
  heatmap.draw(payload.attention.subarray(index * M, (index + 1) * M), word);
  report.select(index, fromUser && document.activeElement?.closest('.report-text') !== null);
  details.show(payload, index, ranks);
  graph.select(index);
  bars.select(index);
  wordTable.select(index);
  perf.select.push(performance.now() - t0);
  if (fromUser) vscode.postMessage({ type: 'wordSelected', index, word });
  writer.write(state);
}

async function showExplanation(p: ExplanationPayload, selectIndex: number, persist: boolean): Promise<void> {
  const t0 = performance.now();
  payload = p;
  ranks = importanceRanks(p.importance);
  renderHeader(p);
  report.setWords(p.report, p.words, p.importance);
  report.recolour(state.palette, themeBackground());
  graph.setData(p.words, p.relation, p.importance, state.palette);
  bars.setData(p.words, p.importance, p.wordScore, state.palette);
  wordTable.setData(p);
  updateVisibility();
  await heatmap.setImage(p.image.png, p.image.width, p.image.height, p.grid);
  if (payload !== p) return; // a newer explanation arrived while the image decoded
  select(Math.min(selectIndex, p.words.length - 1), false);
  if (persist) { state.explanation = storeExplanation(p); writer.write(state); }
  await new Promise<void>((r) => requestAnimationFrame(() => r()));
  perf.firstRender.push(performance.now() - t0);
  document.body.dataset.rendered = String(perf.firstRender.length);
}

function showRun(): void {
  const t0 = performance.now();
  if (state.run) runBody.replaceChildren(renderRun(state.run));
  updateVisibility();
  perf.progress.push(performance.now() - t0);
  document.body.dataset.runDrawn = String(perf.progress.length);
}

function showJobs(): void {
  jobsBody.replaceChildren(...state.jobs.map(renderJob));
  updateVisibility();
}

function showResults(): void {
  if (state.results) resultsBody.replaceChildren(renderResults(state.results));
  else resultsBody.replaceChildren();
  updateVisibility();
}

function showTables(): void {
  tablesBody.replaceChildren(...state.tables.map(renderTable));
  updateVisibility();
}

function showDetection(): void {
  const d = state.detection;
  if (d) detectionBody.replaceChildren(renderDetectionPreview(restoreDetectionPreview(d), () => { document.body.dataset.detectionDrawn = String(d.images.length); }));
  else detectionBody.replaceChildren();
  updateVisibility();
}

let runFrame = 0;
async function handle(msg: HostMessage): Promise<void> {
  switch (msg.type) {
    case 'explanation':
      state.selected = msg.selectIndex ?? 0;
      state.study = msg.study;
      renderStudyNav();
      await showExplanation(msg.payload, state.selected, true);
      break;
    case 'selectWord': select(msg.index, false); break;
    case 'runEvents': {
      const job = msg.job ?? 'train';
      if (job === 'train') {
        if (msg.reset || !state.run || state.run.runId !== msg.runId) state.run = emptyRun(msg.runId);
        accumulateRun(state.run, msg.events);
        // Events can stream faster than frames: draw at most once per frame.
        if (!runFrame) runFrame = requestAnimationFrame(() => { runFrame = 0; showRun(); });
      } else {
        // An evaluation or an ablation is its own job: a progress line, not a training header.
        let j = state.jobs.find((x) => x.kind === job);
        if (msg.reset || !j || j.runId !== msg.runId) {
          state.jobs = state.jobs.filter((x) => x.kind !== job);
          state.jobs.push(j = emptyJob(msg.runId, job));
        }
        accumulateJob(j, msg.events);
        showJobs();
      }
      writer.write(state);
      break;
    }
    case 'runState': {
      if (msg.job === 'train') {
        if (state.run && state.run.runId === msg.runId) {
          state.run.status = msg.state === 'finished' ? 'ok' : msg.state;
          showRun();
        }
      } else {
        const j = state.jobs.find((x) => x.kind === msg.job && x.runId === msg.runId);
        if (j) { j.status = msg.state; showJobs(); }
      }
      writer.write(state);
      break;
    }
    case 'results':
      state.results = { title: msg.title, runs: msg.runs };
      showResults();
      writer.write(state);
      break;
    case 'evalTable': {
      const key = (t: TableData): string => t.key ?? t.title;
      const i = state.tables.findIndex((t: TableData) => key(t) === key(msg.table));
      if (i >= 0) state.tables[i] = msg.table; else state.tables.push(msg.table);
      showTables();
      writer.write(state);
      break;
    }
    case 'detectionPreview':
      state.detection = storeDetectionPreview(msg);
      showDetection();
      writer.write(state);
      break;
    case 'clear':
      if (msg.what === 'explanation' || msg.what === 'all') { payload = undefined; state.explanation = undefined; }
      if (msg.what === 'run' || msg.what === 'all') { state.run = undefined; state.jobs = []; state.detection = undefined; showDetection(); showJobs(); }
      if (msg.what === 'tables' || msg.what === 'all') { state.tables = []; state.results = undefined; showTables(); showResults(); }
      updateVisibility();
      writer.write(state);
      break;
    case 'response': {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (p) { if (msg.ok) p.resolve(msg.result); else p.reject(new Error(msg.error)); }
      break;
    }
  }
}

window.addEventListener('message', (e: MessageEvent) => {
  if (!isHostMessage(e.data)) return;
  handle(e.data).catch(reportError);
});
window.addEventListener('error', (e) => reportError(e.error ?? e.message));
window.addEventListener('unhandledrejection', (e) => reportError(e.reason));
// Persist before the webview is torn down (hide, reload) so no debounced write is lost.
window.addEventListener('pagehide', () => writer.flush());
document.addEventListener('visibilitychange', () => { if (document.hidden) writer.flush(); });
// VS Code swaps body classes and CSS variables on a theme change: recolour what depends on them.
new MutationObserver(() => { if (payload) recolour(); }).observe(document.body, { attributes: true, attributeFilter: ['class'] });

async function restore(): Promise<void> {
  if (state.run) showRun();
  if (state.jobs.length) showJobs();
  if (state.results) showResults();
  renderStudyNav();
  if (state.tables.length) showTables();
  if (state.detection) showDetection();
  updateVisibility();
  if (state.explanation) {
    try {
      await showExplanation(restoreExplanation(state.explanation), state.selected, false);
    } catch (err) {
      state.explanation = undefined;
      reportError(err);
    }
  }
  vscode.postMessage({ type: 'ready' });
}
restore().catch(reportError);

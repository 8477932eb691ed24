// Messages between the extension host and the side-panel webview (postMessage, structured
// clone: typed arrays arrive as typed arrays). The only definition of these shapes.
// Requests carry an `id`; the other side answers with a `response` carrying the same id.
import type { EngineEvent, JobKind } from './events';
import type { ExplanationPayload } from './explain';

/** A generic table (eval results, ablations). Cells are already display-ready values. */
export interface TableData {
  title: string;
  /** Identity of the table across updates (e.g. an ablation folder): a newer one replaces it. Default: the title. */
  key?: string;
  columns: string[];
  rows: Array<Array<string | number | null>>;
  /** Emphasise each numeric column's best (max) value: for comparison tables (ablations). */
  highlightBest?: boolean;
  /** Where "best" is looked for: down each column (default) or along each row (runs as columns). */
  bestPer?: 'column' | 'row';
  /** Standard deviation per numeric cell (same shape as rows): drawn as "mean ± std". */
  spread?: Array<Array<number | null>>;
}

/** One evaluation task of one run: headline metrics first, the rest on demand. */
export interface TaskResult {
  task: string;
  /** [metric, value, baseline?]: the baseline (uniform attention, random init) the value is read against. */
  headline: Array<[string, number | null, number | null]>;
  details: Array<[string, number | null]>;
}

/** Evaluation results of one run, per task. */
export interface RunResults { run: string; tasks: TaskResult[] }

/** The study of a dataset an explanation shows (the panel offers previous/next). */
export interface StudyRef { id: string; index: number; total: number; labels: string[]; dataset: string }

/** A job's state as the host knows it (a process that ended without saying how: `incomplete`). */
export type PanelJobState = 'running' | 'finished' | 'cancelled' | 'failed' | 'requeued' | 'incomplete';

// ---- host -> webview -------------------------------------------------------------------

export interface ExplanationMessage { type: 'explanation'; payload: ExplanationPayload; selectIndex?: number; study?: StudyRef }
/**
 * Engine events of one job; `reset` starts its view over (the host then sends the whole history).
 * `job`: training (curves, the default), evaluation (task progress) or ablation (grid progress).
 */
export interface RunEventsMessage { type: 'runEvents'; runId: string; events: EngineEvent[]; reset?: boolean; job?: JobKind }
/** The host's word on a job's state when its events cannot say (the process died without run_finished). */
export interface RunStateMessage { type: 'runState'; runId: string; job: JobKind; state: PanelJobState }
/** Evaluation results of one or more runs: one compact card per task (one run) or a comparison (several). */
export interface ResultsMessage { type: 'results'; title: string; runs: RunResults[] }
export interface EvalTableMessage { type: 'evalTable'; table: TableData }
/** One detection-preview image: a PNG thumbnail, and boxes [x, y, w, h] in the stored image's pixels (width x height). */
export interface DetectionPreviewImage {
  id: string;
  png: Uint8Array;
  width: number;
  height: number;
  truth: number[][];
  predicted: { box: number[]; score: number }[];
}
/** True vs predicted boxes on a few evaluation images of a run (reclf eval --tasks detection). */
export interface DetectionPreviewMessage { type: 'detectionPreview'; title: string; images: DetectionPreviewImage[] }
export interface SelectWordMessage { type: 'selectWord'; index: number }
export interface ClearMessage { type: 'clear'; what: 'explanation' | 'run' | 'tables' | 'all' }
export type ResponseMessage =
  | { type: 'response'; id: number; ok: true; result?: unknown }
  | { type: 'response'; id: number; ok: false; error: string };

export type HostMessage =
  | ExplanationMessage
  | RunEventsMessage
  | RunStateMessage
  | ResultsMessage
  | EvalTableMessage
  | DetectionPreviewMessage
  | SelectWordMessage
  | ClearMessage
  | ResponseMessage;

// ---- webview -> host -------------------------------------------------------------------

/** What the webview may ask the host to do (the host owns files and editors). */
export type WebviewRequest =
  | { method: 'revealWord'; reportPath: string; start: number; end: number }
  | { method: 'openFile'; path: string }
  /** Explain the previous (-1) or next (+1) study of the dataset the shown study comes from. */
  | { method: 'stepStudy'; step: 1 | -1 };

export interface ReadyMessage { type: 'ready' }
export interface WordSelectedMessage { type: 'wordSelected'; index: number; word: string }
export type RequestMessage = { type: 'request'; id: number } & WebviewRequest;
/** Errors the webview hit while drawing, for the host's log. */
export interface WebviewErrorMessage { type: 'error'; message: string }

export type WebviewMessage = ReadyMessage | WordSelectedMessage | RequestMessage | WebviewErrorMessage;

// ---- runtime guards (messages cross a process boundary: never trust their shape) --------

type Rec = Record<string, unknown>;
const isObj = (x: unknown): x is Rec => typeof x === 'object' && x !== null && !Array.isArray(x);
const isIndex = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x >= 0;
const isId = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x);

function isWords(x: unknown): boolean {
  return Array.isArray(x) && x.every((w) => isObj(w) && typeof w.text === 'string' && isIndex(w.start) && isIndex(w.end));
}

/** Shape check of an explanation payload as it arrives by structured clone. */
export function isExplanationPayload(x: unknown): x is ExplanationPayload {
  if (!isObj(x)) return false;
  const img = x.image;
  const grid = x.grid;
  const scores = x.scores;
  return isObj(x.model) && typeof x.model.name === 'string'
    && isObj(img) && img.png instanceof Uint8Array && isIndex(img.width) && isIndex(img.height)
    && Array.isArray(grid) && grid.length === 2 && isIndex(grid[0]) && isIndex(grid[1])
    && typeof x.report === 'string' && isWords(x.words)
    && x.attention instanceof Float32Array && x.relation instanceof Float32Array
    && x.importance instanceof Float32Array && x.wordScore instanceof Float32Array
    && isObj(scores) && typeof scores.global === 'number' && typeof scores.local === 'number';
}

const JOB_STATES: ReadonlySet<string> = new Set<PanelJobState>(['running', 'finished', 'cancelled', 'failed', 'requeued', 'incomplete']);
const isJob = (x: unknown): x is JobKind => x === 'train' || x === 'eval' || x === 'ablation';
const isNum = (x: unknown): boolean => x === null || typeof x === 'number';

function isStudy(x: unknown): x is StudyRef {
  return isObj(x) && typeof x.id === 'string' && isIndex(x.index) && isIndex(x.total) && typeof x.dataset === 'string'
    && Array.isArray(x.labels) && x.labels.every((l) => typeof l === 'string');
}

function isRunResults(x: unknown): x is RunResults {
  return isObj(x) && typeof x.run === 'string' && Array.isArray(x.tasks) && x.tasks.every((t) => isObj(t) && typeof t.task === 'string'
    && Array.isArray(t.headline) && t.headline.every((h) => Array.isArray(h) && typeof h[0] === 'string' && isNum(h[1]) && isNum(h[2]))
    && Array.isArray(t.details) && t.details.every((d) => Array.isArray(d) && typeof d[0] === 'string' && isNum(d[1])));
}

function isTable(x: unknown): x is TableData {
  return isObj(x) && typeof x.title === 'string' && (x.key === undefined || typeof x.key === 'string')
    && Array.isArray(x.columns) && x.columns.every((c) => typeof c === 'string')
    && Array.isArray(x.rows) && x.rows.every((r) => Array.isArray(r)
      && r.every((c) => c === null || typeof c === 'string' || typeof c === 'number'));
}

const isBox = (b: unknown): boolean => Array.isArray(b) && b.length === 4 && b.every((v) => typeof v === 'number' && Number.isFinite(v));

function isPreviewImage(x: unknown): x is DetectionPreviewImage {
  return isObj(x) && typeof x.id === 'string' && x.png instanceof Uint8Array && isIndex(x.width) && isIndex(x.height)
    && Array.isArray(x.truth) && x.truth.every(isBox)
    && Array.isArray(x.predicted) && x.predicted.every((p) => isObj(p) && isBox(p.box) && typeof p.score === 'number');
}

export function isHostMessage(x: unknown): x is HostMessage {
  if (!isObj(x)) return false;
  switch (x.type) {
    case 'explanation': return isExplanationPayload(x.payload) && (x.selectIndex === undefined || isIndex(x.selectIndex))
      && (x.study === undefined || isStudy(x.study));
    case 'runEvents': return typeof x.runId === 'string' && Array.isArray(x.events)
      && x.events.every((e) => isObj(e) && typeof e.type === 'string') && (x.job === undefined || isJob(x.job));
    case 'runState': return typeof x.runId === 'string' && isJob(x.job) && typeof x.state === 'string' && JOB_STATES.has(x.state);
    case 'results': return typeof x.title === 'string' && Array.isArray(x.runs) && x.runs.every(isRunResults);
    case 'evalTable': return isTable(x.table);
    case 'detectionPreview': return typeof x.title === 'string' && Array.isArray(x.images) && x.images.every(isPreviewImage);
    case 'selectWord': return isIndex(x.index);
    case 'clear': return x.what === 'explanation' || x.what === 'run' || x.what === 'tables' || x.what === 'all';
    case 'response': return isId(x.id) && (x.ok === true || (x.ok === false && typeof x.error === 'string'));
    default: return false;
  }
}

export function isWebviewMessage(x: unknown): x is WebviewMessage {
  if (!isObj(x)) return false;
  switch (x.type) {
    case 'ready': return true;
    case 'wordSelected': return isIndex(x.index) && typeof x.word === 'string';
    case 'error': return typeof x.message === 'string';
    case 'request':
      if (!isId(x.id)) return false;
      if (x.method === 'revealWord') return typeof x.reportPath === 'string' && isIndex(x.start) && isIndex(x.end);
      if (x.method === 'openFile') return typeof x.path === 'string';
      if (x.method === 'stepStudy') return x.step === 1 || x.step === -1;
      return false;
    default: return false;
  }
}

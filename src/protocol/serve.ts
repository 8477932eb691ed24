// `reclf serve` wire format: one JSON object per line on the server's stdin (requests) and
// stdout (responses). Responses come back in request order, one per request, each carrying the
// request's id, so a client may pipeline requests and match them either way.
import type { ExplanationPayloadJson } from './explain';

export type ServeRequestId = string | number;

export interface ServeExplainRequest {
  id: ServeRequestId;
  method: 'explain';
  /** PNG, JPEG or DICOM path (relative paths: to the server's working directory). */
  image: string;
  /** Report file path; exactly one of `report` and `reportText`. */
  report?: string;
  reportText?: string;
  /** ONNX model path; at most one of `model` and `run`; neither = the bundled model. */
  model?: string;
  /** Run folder (its model.onnx, exported from the best checkpoint when missing or stale). */
  run?: string;
}

export interface ServeShutdownRequest {
  id: ServeRequestId;
  method: 'shutdown';
}

export type ServeRequest = ServeExplainRequest | ServeShutdownRequest;

/** `payload` is exactly what `reclf explain --json` prints; a shutdown answer has none. */
export interface ServeOk {
  id: ServeRequestId | null;
  ok: true;
  payload?: ExplanationPayloadJson;
}

/** A refused request (user mistake or engine failure); the server keeps serving. */
export interface ServeFailure {
  id: ServeRequestId | null;
  ok: false;
  error: string;
  /** The request field (or model metadata key) the error is about, when known. */
  field?: string;
}

export type ServeResponse = ServeOk | ServeFailure;

/** A response line, or undefined for anything else the server might print. */
export function parseServeResponse(line: string): ServeResponse | undefined {
  const t = line.trim();
  if (!t.startsWith('{')) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(t);
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  const idOk = r.id === null || typeof r.id === 'string' || typeof r.id === 'number';
  if (!idOk || typeof r.ok !== 'boolean') return undefined;
  if (r.ok === false && typeof r.error !== 'string') return undefined;
  return r as unknown as ServeResponse;
}

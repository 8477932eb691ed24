// Reads a run's detection preview (RUN/eval/detection.json + the engine's PNG thumbnails) into
// the panel message. The host only reads JSON and PNG bytes; thumbnails must stay inside
// RUN/eval (a result file is data, and data may not point the host elsewhere).
import fs from 'node:fs';
import path from 'node:path';
import type { DetectionPreviewImage, DetectionPreviewMessage } from '../protocol/webview-messages';

interface StoredPreviewImage {
  id: string;
  width: number;
  height: number;
  truth: number[][];
  predicted: { box: number[]; score: number }[];
  thumbnail?: string;
}

/** The panel message for RUN's detection preview, or undefined when the run has none. */
export function readDetectionPreview(runDir: string, title = `Detection: ${path.basename(runDir)}`): DetectionPreviewMessage | undefined {
  const evalDir = path.join(runDir, 'eval');
  let result: { preview?: { fraction?: number; images?: StoredPreviewImage[] } };
  try {
    result = JSON.parse(fs.readFileSync(path.join(evalDir, 'detection.json'), 'utf8'));
  } catch {
    return undefined;
  }
  const images: DetectionPreviewImage[] = [];
  for (const im of result.preview?.images ?? []) {
    if (!im.thumbnail) continue;
    const file = path.resolve(evalDir, im.thumbnail);
    const rel = path.relative(evalDir, file);
    if (rel.startsWith('..') || path.isAbsolute(rel)) continue;
    let png: Buffer;
    try {
      png = fs.readFileSync(file);
    } catch {
      continue;
    }
    images.push({ id: im.id, png: new Uint8Array(png.buffer, png.byteOffset, png.byteLength), width: im.width, height: im.height, truth: im.truth, predicted: im.predicted });
  }
  if (images.length === 0) return undefined;
  const fraction = result.preview?.fraction;
  return { type: 'detectionPreview', title: fraction !== undefined ? `${title} (head trained on ${+(fraction * 100).toFixed(2)}% of the boxes)` : title, images };
}

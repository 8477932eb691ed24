// Thumbnails of the detection preview images, written next to the result (RUN/eval/
// detection-preview/<i>.png) by the engine, which can decode DICOM and JPEG: the extension host
// only reads PNG bytes and hands them to the panel, never decoding medical images itself.
import fs from 'node:fs';
import path from 'node:path';
import { decodeImageFile, encodePng, resize } from '../data/image-io';
import { writeFileAtomic } from '../fs-atomic';
import type { DetectionPreview } from './detection';

export const PREVIEW_DIR = 'detection-preview';
export const PREVIEW_MAX_SIDE = 256;

/** Writes one PNG per preview image and records it (relative to RUN/eval) as `thumbnail`. */
export async function writePreviewThumbnails(runDir: string, preview: DetectionPreview, maxSide = PREVIEW_MAX_SIDE): Promise<DetectionPreview> {
  const dir = path.join(runDir, 'eval', PREVIEW_DIR);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const images = [];
  for (const [i, im] of preview.images.entries()) {
    const img = await decodeImageFile(im.path);
    const scale = Math.min(1, maxSide / Math.max(img.width, img.height));
    const small = scale < 1 ? resize(img, Math.max(1, Math.round(img.width * scale)), Math.max(1, Math.round(img.height * scale))) : img;
    const rel = `${PREVIEW_DIR}/${i}.png`;
    writeFileAtomic(path.join(runDir, 'eval', rel), await encodePng(small));
    images.push({ ...im, thumbnail: rel });
  }
  return { ...preview, images };
}

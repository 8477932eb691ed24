// Detection preview of a run: true boxes (solid) and predicted boxes (dashed, with confidence)
// drawn over a few evaluation images. Okabe-Ito blue / orange stay distinguishable with the
// common colour-vision deficiencies and against a grey radiograph.
import type { DetectionPreviewImage, DetectionPreviewMessage } from '../src/protocol/webview-messages';
import { el } from './dom';

export const TRUTH_COLOUR = '#56B4E9';
export const PREDICTED_COLOUR = '#E69F00';

async function drawImage(canvas: HTMLCanvasElement, im: DetectionPreviewImage): Promise<void> {
  const bitmap = await createImageBitmap(new Blob([im.png as Uint8Array<ArrayBuffer>], { type: 'image/png' }));
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  // Boxes are in the stored image's pixels; the thumbnail keeps its aspect ratio.
  const sx = canvas.width / im.width;
  const sy = canvas.height / im.height;
  ctx.lineWidth = 2;
  ctx.strokeStyle = TRUTH_COLOUR;
  ctx.setLineDash([]);
  for (const [x, y, w, h] of im.truth) ctx.strokeRect(x * sx, y * sy, w * sx, h * sy);
  ctx.strokeStyle = PREDICTED_COLOUR;
  ctx.fillStyle = PREDICTED_COLOUR;
  ctx.font = '11px sans-serif';
  ctx.setLineDash([5, 3]);
  for (const p of im.predicted) {
    const [x, y, w, h] = p.box;
    ctx.strokeRect(x * sx, y * sy, w * sx, h * sy);
    ctx.fillText(p.score.toFixed(2), x * sx + 2, Math.max(10, y * sy - 3));
  }
}

/** One figure per image, with a text caption (the boxes' description for screen readers). */
export function renderDetectionPreview(msg: Pick<DetectionPreviewMessage, 'title' | 'images'>, onDrawn?: () => void): HTMLElement {
  const legend = el('p', { class: 'det-legend' },
    el('span', { class: 'det-key det-truth' }, 'true box'), ' ', el('span', { class: 'det-key det-pred' }, 'predicted (confidence)'));
  const figures = msg.images.map((im) => {
    const canvas = el('canvas', { class: 'det-canvas', role: 'img', 'aria-label': `${im.id}: ${im.truth.length} true, ${im.predicted.length} predicted boxes` });
    const best = im.predicted.reduce((m, p) => Math.max(m, p.score), 0);
    const caption = el('figcaption', {}, `${im.id} · ${im.truth.length} true · ${im.predicted.length} predicted${im.predicted.length ? ` (best ${best.toFixed(2)})` : ''}`);
    return { figure: el('figure', { class: 'det-figure' }, canvas, caption), draw: () => drawImage(canvas, im) };
  });
  const root = el('div', { class: 'det-preview' }, el('h3', {}, msg.title), legend, el('div', { class: 'det-grid' }, ...figures.map((f) => f.figure)));
  void Promise.all(figures.map((f) => f.draw())).then(() => onDrawn?.());
  return root;
}

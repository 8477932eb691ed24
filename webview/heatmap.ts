// The X-ray with one word's attention over the region grid. The grid (e.g. 14x14) is coloured
// into a tiny canvas and scaled up with bilinear smoothing onto the image, so a redraw is one
// drawImage of the base plus one of the overlay: well under a frame for a 224 px image.
import { paletteLut, paletteColor, rgbCss, type PaletteName } from './colormap';
import { el } from './dom';

export interface HeatmapView {
  readonly root: HTMLElement;
  /** Decodes the image; resolves when it can be drawn. */
  setImage(png: Uint8Array, width: number, height: number, grid: [number, number]): Promise<void>;
  /** Draws the attention row `values` (length rows*cols) for the word `label`. */
  draw(values: Float32Array, label: string): void;
  setOpacity(opacity: number): void;
  setPalette(p: PaletteName): void;
  redraw(): void;
}

/** Colour scale of the attention row: 'zero' maps 0..max (absolute), 'range' maps min..max
 * (contrast: a nearly flat row, e.g. a synthetic-trained model on a real radiograph, still shows its peaks). */
export type HeatmapScale = 'zero' | 'range';

export interface HeatmapCallbacks {
  onOpacity(opacity: number): void;
  onPalette(p: PaletteName): void;
  onScale?(s: HeatmapScale): void;
}

/** Fills `out` (rows*cols RGBA) with palette colours; alpha follows the weight so anatomy under weak attention stays visible. */
export function colourGrid(values: ArrayLike<number>, min: number, max: number, palette: PaletteName, out: Uint8ClampedArray): void {
  const lut = paletteLut(palette);
  const inv = max > min ? 1 / (max - min) : 0;
  for (let i = 0; i < values.length; i++) {
    const t = Math.min(1, Math.max(0, (values[i] - min) * inv));
    const k = Math.round(t * 255) * 3;
    out[i * 4] = lut[k];
    out[i * 4 + 1] = lut[k + 1];
    out[i * 4 + 2] = lut[k + 2];
    out[i * 4 + 3] = Math.round(255 * (0.15 + 0.85 * Math.sqrt(t)));
  }
}

export function argmax(values: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

const fmt = (v: number): string => (v >= 0.1 ? v.toFixed(2) : v >= 0.01 ? v.toFixed(3) : v.toExponential(1));

export function createHeatmap(cb: HeatmapCallbacks, initial: { opacity: number; palette: PaletteName; scale?: HeatmapScale }): HeatmapView {
  const canvas = el('canvas', { class: 'heatmap-canvas', role: 'img', 'aria-label': 'X-ray with attention heatmap' });
  const ctx = canvas.getContext('2d', { alpha: false }) as CanvasRenderingContext2D;
  const gridCanvas = document.createElement('canvas');
  const gctx = gridCanvas.getContext('2d') as CanvasRenderingContext2D;
  const legend = el('canvas', { class: 'legend-bar', width: '256', height: '10', 'aria-hidden': 'true' });
  const legendMin = el('span', { class: 'legend-min' }, '0');
  const legendMax = el('span', { class: 'legend-max' }, '');
  const caption = el('div', { class: 'heatmap-caption', 'aria-live': 'polite' });
  const opacity = el('input', { type: 'range', min: '0', max: '100', step: '1', id: 'opacity', 'aria-label': 'Heatmap opacity' });
  const opacityOut = el('output', { for: 'opacity', class: 'opacity-value' });
  const paletteSel = el('select', { id: 'palette', 'aria-label': 'Colour palette' },
    el('option', { value: 'viridis' }, 'viridis'), el('option', { value: 'cividis' }, 'cividis'));
  const scaleSel = el('select', { id: 'scale', 'aria-label': 'Colour scale' },
    el('option', { value: 'zero' }, '0 to max'), el('option', { value: 'range' }, 'min to max'));

  let state = { scale: 'zero' as HeatmapScale, ...initial };
  let image: ImageBitmap | undefined;
  let grid: [number, number] = [1, 1];
  let gridData: ImageData | undefined;
  let last: { values: Float32Array; label: string } | undefined;

  const root = el('div', { class: 'heatmap' },
    el('div', { class: 'canvas-wrap' }, canvas),
    caption,
    el('div', { class: 'legend', title: 'Attention of the selected word over image regions, from 0 (or its weakest region) to its strongest region' },
      legendMin, legend, legendMax),
    el('div', { class: 'controls' },
      el('label', { for: 'opacity' }, 'Opacity'), opacity, opacityOut,
      el('label', { for: 'palette' }, 'Palette'), paletteSel,
      el('label', { for: 'scale' }, 'Scale'), scaleSel));

  const drawLegend = (): void => {
    const lctx = legend.getContext('2d') as CanvasRenderingContext2D;
    const img = lctx.createImageData(256, 10);
    for (let x = 0; x < 256; x++) {
      const c = paletteColor(state.palette, x / 255);
      for (let y = 0; y < 10; y++) img.data.set([c[0], c[1], c[2], 255], (y * 256 + x) * 4);
    }
    lctx.putImageData(img, 0, 0);
  };

  const syncControls = (): void => {
    opacity.value = String(Math.round(state.opacity * 100));
    opacityOut.textContent = `${Math.round(state.opacity * 100)}%`;
    paletteSel.value = state.palette;
    scaleSel.value = state.scale;
  };

  opacity.addEventListener('input', () => {
    state.opacity = Number(opacity.value) / 100;
    syncControls();
    view.redraw();
    cb.onOpacity(state.opacity);
  });
  paletteSel.addEventListener('change', () => {
    state.palette = paletteSel.value === 'cividis' ? 'cividis' : 'viridis';
    drawLegend();
    view.redraw();
    cb.onPalette(state.palette);
  });

  scaleSel.addEventListener('change', () => {
    state.scale = scaleSel.value === 'range' ? 'range' : 'zero';
    view.redraw();
    cb.onScale?.(state.scale);
  });

  const view: HeatmapView = {
    root,
    async setImage(png, width, height, g) {
      const blob = new Blob([png as Uint8Array<ArrayBuffer>], { type: 'image/png' });
      image?.close();
      image = await createImageBitmap(blob);
      canvas.width = width || image.width;
      canvas.height = height || image.height;
      grid = g;
      gridCanvas.width = g[1];
      gridCanvas.height = g[0];
      gridData = gctx.createImageData(g[1], g[0]);
      last = undefined;
    },
    draw(values, label) {
      last = { values, label };
      if (!image || !gridData) return;
      ctx.imageSmoothingEnabled = true;
      ctx.globalAlpha = 1;
      ctx.drawImage(image, 0, 0, canvas.width, canvas.height);
      let max = 0;
      let min = Infinity;
      for (let i = 0; i < values.length; i++) { if (values[i] > max) max = values[i]; if (values[i] < min) min = values[i]; }
      const lo = state.scale === 'range' && Number.isFinite(min) ? min : 0;
      colourGrid(values, lo, max, state.palette, gridData.data);
      gctx.putImageData(gridData, 0, 0);
      ctx.globalAlpha = state.opacity;
      ctx.imageSmoothingQuality = 'high';
      ctx.drawImage(gridCanvas, 0, 0, canvas.width, canvas.height);
      ctx.globalAlpha = 1;
      // Outline the peak region so the answer to "where does it look" is exact, not just a blur.
      const peak = argmax(values);
      const cw = canvas.width / grid[1];
      const ch = canvas.height / grid[0];
      const pr = Math.floor(peak / grid[1]);
      const pc = peak % grid[1];
      ctx.lineWidth = Math.max(1, canvas.width / 224);
      ctx.strokeStyle = rgbCss([255, 255, 255], 0.9);
      ctx.setLineDash([3, 2]);
      ctx.strokeRect(pc * cw + 0.5, pr * ch + 0.5, cw - 1, ch - 1);
      ctx.setLineDash([]);
      legendMin.textContent = lo > 0 ? fmt(lo) : '0';
      legendMax.textContent = fmt(max);
      caption.textContent = `“${label}” · peak region row ${pr + 1}, col ${pc + 1} of ${grid[0]}×${grid[1]} (${(max * 100).toFixed(1)}% of attention)`;
    },
    setOpacity(o) { state.opacity = o; syncControls(); view.redraw(); },
    setPalette(p) { state.palette = p; syncControls(); drawLegend(); view.redraw(); },
    redraw() { if (last) view.draw(last.values, last.label); },
  };
  syncControls();
  drawLegend();
  return view;
}

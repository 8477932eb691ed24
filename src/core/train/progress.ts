// Throughput and ETA from an exponential moving average of step time, and a one-line progress
// bar for terminals (stderr). Pure so it can be tested without a TTY.

export class Throughput {
  private ema: number | undefined;
  constructor(private readonly alpha = 0.2) {}

  /** Records one step of `items` that took `seconds`. */
  record(seconds: number, items: number): void {
    const perItem = seconds / Math.max(1, items);
    this.ema = this.ema === undefined ? perItem : this.alpha * perItem + (1 - this.alpha) * this.ema;
  }

  itemsPerSecond(): number {
    return this.ema ? 1 / this.ema : 0;
  }

  etaSeconds(itemsLeft: number): number {
    return this.ema ? this.ema * Math.max(0, itemsLeft) : 0;
  }
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${String(r).padStart(2, '0')}` : `${m}:${String(r).padStart(2, '0')}`;
}

export function progressBar(done: number, total: number, width = 24): string {
  const frac = total > 0 ? Math.min(1, done / total) : 0;
  const filled = Math.round(frac * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}%`;
}

export function progressLine(p: { step: number; total: number; epoch: number; loss: number; itemsPerS: number; etaS: number }): string {
  return `${progressBar(p.step, p.total)} step ${p.step}/${p.total} epoch ${p.epoch + 1} loss ${p.loss.toFixed(4)} ` +
    `${p.itemsPerS.toFixed(1)} img/s ETA ${formatDuration(p.etaS)}`;
}

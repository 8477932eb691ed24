// Learning-rate schedule: linear warmup to the peak, then cosine decay to minLrRatio * peak.

export interface ScheduleConfig {
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  minLrRatio: number;
}

export function learningRate(step: number, cfg: ScheduleConfig): number {
  const { lr, warmupSteps, totalSteps, minLrRatio } = cfg;
  if (warmupSteps > 0 && step < warmupSteps) return (lr * (step + 1)) / warmupSteps;
  const decaySteps = Math.max(1, totalSteps - warmupSteps);
  const progress = Math.min(1, Math.max(0, (step - warmupSteps) / decaySteps));
  const min = lr * minLrRatio;
  return min + (lr - min) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

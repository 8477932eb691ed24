// Whether a training budget suits the data it runs on (pure): more than MAX_EPOCHS passes over a
// small training split overfits (the case: 150 steps of 32 on 160 studies, validation loss
// rising from step 5). The editor warns before starting such a run and says what to do.

/** Passes over the training split beyond which Train warns. */
export const MAX_EPOCHS = 20;

export interface TrainBudget {
  trainStudies: number;
  batchSize: number;
  /** Optimizer steps the run will take. */
  totalSteps: number;
  /** Passes over the training split those steps make. */
  epochs: number;
}

interface ConfigTrain { epochs?: unknown; maxSteps?: unknown; batchSize?: unknown }

/** The budget of a resolved config (`reclf train --print-config`) on `trainStudies` studies, as the trainer counts it. */
export function trainingBudget(config: { train?: ConfigTrain }, trainStudies: number): TrainBudget | undefined {
  const t = config.train ?? {};
  const batchSize = Number(t.batchSize), epochs = Number(t.epochs), maxSteps = Number(t.maxSteps ?? 0);
  if (!(batchSize > 0) || !(epochs > 0) || !(trainStudies > 0)) return undefined;
  // The trainer's stepsPerEpoch: whole batches only.
  const perEpoch = Math.floor(trainStudies / batchSize);
  if (perEpoch === 0) return { trainStudies, batchSize, totalSteps: 0, epochs: Infinity };
  const byEpochs = perEpoch * epochs;
  const totalSteps = maxSteps > 0 ? Math.min(maxSteps, byEpochs) : byEpochs;
  return { trainStudies, batchSize, totalSteps, epochs: totalSteps / perEpoch };
}

/** The warning for a budget that passes over the split too often (undefined when it is fine). */
export function budgetWarning(b: TrainBudget, maxEpochs = MAX_EPOCHS): string | undefined {
  if (b.totalSteps === 0) {
    return `The training split has ${b.trainStudies} studies, fewer than one batch of ${b.batchSize}: nothing would train. Use a larger dataset (Generate Synthetic Dataset offers 10000 studies) or a smaller train.batchSize.`;
  }
  if (b.epochs <= maxEpochs) return undefined;
  const enough = Math.ceil((b.totalSteps * b.batchSize) / maxEpochs);
  return `This run makes ${Math.round(b.epochs)} passes over a training split of ${b.trainStudies} studies (${b.totalSteps} steps of ${b.batchSize}); ` +
    `that many passes overfit a small split (validation loss rises early). Use a dataset with at least ${enough} training studies ` +
    `(Generate Synthetic Dataset offers 10000), or lower train.epochs / train.maxSteps in a *.reclf.json config.`;
}

/** Training studies of a manifest (lines with split "train"). */
export function countTrainStudies(manifestText: string): number {
  let n = 0;
  for (const line of manifestText.split('\n')) if (/"split"\s*:\s*"train"/.test(line)) n++;
  return n;
}

// Exports a run folder's checkpoint (best or last) to an ONNX file that follows the contract.
import fs from 'node:fs';
import path from 'node:path';
import { readDataset } from '../data/manifest';
import type { LoadedStudy } from '../data/manifest-types';
import { decodeImageFile } from '../data/image-io';
import { DataError } from '../errors';
import { describeDistribution, pixelStatistics, type ImageDistribution } from '../explain/image-distribution';
import { loadRun } from '../train/run-loader';
import { exportModel, writeExportedModel, type ModelMetadata } from './export-model';

export interface RunExportResult {
  model: string;
  vocab: string;
  bytes: number;
  nodes: number;
  checkpoint: string;
  step: number;
  metadata: ModelMetadata;
}

/** Called after each image decoded for the distribution: images done, images in all. */
export type DescribeProgress = (done: number, total: number) => void;

/** Training images the distribution is fitted on, at most (the first of the train split). */
const DISTRIBUTION_FIT_IMAGES = 2000;

/**
 * The pixel statistics of a dataset's images: fitted on its train split, the threshold set from
 * its valid split (or, without one, from the last fifth of the train split, left out of the fit).
 */
async function datasetDistribution(dataDir: string, onProgress?: DescribeProgress): Promise<ImageDistribution> {
  const studies = readDataset(dataDir).studies;
  let done = 0;
  let total = 0;
  const stats = async (ss: readonly LoadedStudy[]) => {
    const out: Float64Array[] = [];
    for (const s of ss) {
      out.push(pixelStatistics(await decodeImageFile(s.imagePath)));
      onProgress?.(++done, total);
    }
    return out;
  };
  const train = studies.filter((s) => s.split === 'train');
  let valid = studies.filter((s) => s.split === 'valid');
  let fit = train;
  if (valid.length === 0) {
    const cut = Math.ceil(train.length * 0.8);
    [fit, valid] = [train.slice(0, cut), train.slice(cut)];
  }
  fit = fit.slice(0, DISTRIBUTION_FIT_IMAGES);
  if (fit.length < 2 || valid.length < 1) throw new DataError(`${dataDir}: describing its images needs at least 3 train images, it has ${train.length}`, dataDir, 'split');
  total = fit.length + valid.length;
  const synthetic = fs.existsSync(path.join(dataDir, 'synth.json'));
  const source = `${synthetic ? 'synthetic radiographs (reclf synth)' : `the images of ${path.basename(path.resolve(dataDir))}`}, ${fit.length} train images`;
  return describeDistribution(await stats(fit), await stats(valid), source);
}

/**
 * The TF.js backend must be initialised (loadRun builds the model). With `data`, the metadata also
 * describes that dataset's images, so explanations of unlike images (a real radiograph shown to a
 * synthetic-trained model) say so.
 */
export async function exportRun(runDir: string, outFile: string, checkpoint = 'best', opts: { data?: string; onProgress?: DescribeProgress } = {}): Promise<RunExportResult> {
  const run = loadRun(runDir, checkpoint);
  try {
    const imageDistribution = opts.data ? await datasetDistribution(opts.data, opts.onProgress) : undefined;
    const exported = exportModel({
      ...(imageDistribution ? { imageDistribution } : {}),
      model: run.config.model,
      method: run.config.method,
      params: await run.params.toRecord(),
      tokenizer: run.tokenizer,
      doc: `run ${path.basename(path.resolve(runDir))}, checkpoint ${path.basename(run.checkpointFile)} (step ${run.step})`,
    });
    const files = writeExportedModel(outFile, exported, run.tokenizer);
    return {
      ...files, bytes: exported.bytes.length, nodes: exported.nodes,
      checkpoint: run.checkpointFile, step: run.step, metadata: exported.metadata,
    };
  } finally {
    run.params.dispose();
  }
}

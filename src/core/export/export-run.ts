// Exports a run folder's checkpoint (best or last) to an ONNX file that follows the contract.
import fs from 'node:fs';
import path from 'node:path';
import { readDataset } from '../data/manifest';
import { encodeSplit } from '../eval/features';
import { describeDistribution, type ImageDistribution } from '../explain/image-distribution';
import { loadRun, type LoadedRun } from '../train/run-loader';
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

/**
 * The image embeddings of a dataset's valid split (its train split when it has none) under the
 * run's weights, summarised for the model's metadata.
 */
async function datasetDistribution(run: LoadedRun, dataDir: string): Promise<ImageDistribution> {
  const studies = readDataset(dataDir).studies;
  const split = studies.some((s) => s.split === 'valid') ? 'valid' : 'train';
  const f = await encodeSplit(run, studies, { dataDir, split, workers: 0, cache: false });
  const synthetic = fs.existsSync(path.join(dataDir, 'synth.json'));
  const source = `${synthetic ? 'synthetic radiographs (reclf synth)' : `the images of ${path.basename(path.resolve(dataDir))}`}, ${f.n} ${split} images`;
  return describeDistribution(f.imageGlobal, f.n, f.D, source);
}

/**
 * The TF.js backend must be initialised (loadRun builds the model). With `data`, the metadata also
 * describes that dataset's images, so explanations of unlike images (a real radiograph shown to a
 * synthetic-trained model) say so.
 */
export async function exportRun(runDir: string, outFile: string, checkpoint = 'best', opts: { data?: string } = {}): Promise<RunExportResult> {
  const run = loadRun(runDir, checkpoint);
  try {
    const imageDistribution = opts.data ? await datasetDistribution(run, opts.data) : undefined;
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

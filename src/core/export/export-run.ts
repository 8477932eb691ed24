// Exports a run folder's checkpoint (best or last) to an ONNX file that follows the contract.
import path from 'node:path';
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

/** The TF.js backend must be initialised (loadRun builds the model). */
export async function exportRun(runDir: string, outFile: string, checkpoint = 'best'): Promise<RunExportResult> {
  const run = loadRun(runDir, checkpoint);
  try {
    const exported = exportModel({
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

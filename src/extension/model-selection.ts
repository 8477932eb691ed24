// Which model explanations use: the one the user picked (a run or an .onnx file), else the
// bundled default under <extension>/models/. Kept in workspaceState (per workspace).
import fs from 'node:fs';
import path from 'node:path';
import type * as vscode from 'vscode';
import type { ModelRef } from './explain-service';

const KEY = 'reclf.selectedModel';

function isModelRef(x: unknown): x is ModelRef {
  return typeof x === 'object' && x !== null && ((x as ModelRef).kind === 'run' || (x as ModelRef).kind === 'onnx')
    && typeof (x as ModelRef).path === 'string';
}

/** The first .onnx file of the extension's models/ folder (absent in a source checkout). */
export function bundledModel(extensionPath: string): ModelRef | undefined {
  const dir = path.join(extensionPath, 'models');
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.onnx')).sort();
  } catch {
    return undefined;
  }
  return files.length ? { kind: 'onnx', path: path.join(dir, files[0]) } : undefined;
}

export class ModelSelection {
  constructor(private readonly state: vscode.Memento, private readonly extensionPath: string) {}

  /** The picked model while it still exists, else the bundled one. */
  current(): ModelRef | undefined {
    const picked = this.state.get<unknown>(KEY);
    if (isModelRef(picked) && fs.existsSync(picked.path)) return picked;
    return bundledModel(this.extensionPath);
  }

  async select(model: ModelRef | undefined): Promise<void> {
    await this.state.update(KEY, model);
  }

  describe(m: ModelRef | undefined = this.current()): string {
    if (!m) return 'no model';
    return m.kind === 'run' ? `run ${path.basename(m.path)}` : path.basename(m.path);
  }
}

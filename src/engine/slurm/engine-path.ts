// The engine the compute nodes run. bin/reclf.js rebuilds its bundle when the sources are newer;
// several array tasks starting at once would all rebuild it into the same file, so the
// submitting process brings it up to date first, once.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { packageRoot } from './config';
import { SlurmError } from './cli';

export function ensureEngineBuilt(enginePath: string, nodePath = process.execPath): void {
  const own = path.join(packageRoot(), 'bin', 'reclf.js');
  if (path.resolve(enginePath) !== own) return;
  const r = spawnSync(nodePath, [own, '--version'], { encoding: 'utf8', timeout: 300_000 });
  if (r.status !== 0) {
    throw new SlurmError(`the engine ${own} does not start here (${(r.stderr || r.error?.message || `exit ${r.status}`).trim().split('\n')[0]}); the compute nodes would fail the same way`, 'failed');
  }
}

// One definition of the engine bundle, used by `npm run build` and by bin/reclf.js when stale.
'use strict';
const path = require('node:path');

// Native addons and packages that locate files next to themselves stay outside the bundle.
const external = [
  '@tensorflow/*', 'onnxruntime-node', 'sharp', 'webgpu', 'esbuild', 'tree-kill', 'vscode',
];

function engineOptions(root, outdir = path.join(root, 'dist')) {
  return {
    entryPoints: {
      'engine/reclf': path.join(root, 'src', 'engine', 'main.ts'),
      'engine/decode-worker': path.join(root, 'src', 'core', 'data', 'decode-worker.ts'),
      'engine/train-worker': path.join(root, 'src', 'core', 'runtime', 'train-worker.ts'),
    },
    outdir,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    external,
    logLevel: 'warning',
    absWorkingDir: root,
  };
}

function existingEntries(opts) {
  const fs = require('node:fs');
  const entries = {};
  for (const [k, v] of Object.entries(opts.entryPoints)) if (fs.existsSync(v)) entries[k] = v;
  return { ...opts, entryPoints: entries };
}

// Each output is written to a temp file and renamed over the old one: bin/reclf.js rebuilds a
// stale bundle on launch, and another engine process starting meanwhile (a run's eval, a second
// terminal) must load the old bundle or the new one, never a half-written file.
function writeAtomically(outputFiles) {
  const fs = require('node:fs');
  for (const f of outputFiles) {
    fs.mkdirSync(path.dirname(f.path), { recursive: true });
    const tmp = `${f.path}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, f.contents);
    fs.renameSync(tmp, f.path);
  }
}

function buildEngineSync(root, outdir) {
  writeAtomically(require('esbuild').buildSync({ ...existingEntries(engineOptions(root, outdir)), write: false }).outputFiles);
}

async function buildEngine(root, outdir) {
  writeAtomically((await require('esbuild').build({ ...existingEntries(engineOptions(root, outdir)), write: false })).outputFiles);
}

module.exports = { buildEngineSync, buildEngine, engineOptions };

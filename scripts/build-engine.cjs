// One definition of the engine bundle, used by `npm run build` and by bin/reclf.js when stale.
'use strict';
const path = require('node:path');

// Native addons and packages that locate files next to themselves stay outside the bundle.
const external = [
  '@tensorflow/*', 'onnxruntime-node', 'sharp', 'webgpu', 'esbuild', 'tree-kill', 'vscode',
];

function engineOptions(root) {
  return {
    entryPoints: {
      'engine/reclf': path.join(root, 'src', 'engine', 'main.ts'),
      'engine/decode-worker': path.join(root, 'src', 'core', 'data', 'decode-worker.ts'),
      'engine/train-worker': path.join(root, 'src', 'core', 'runtime', 'train-worker.ts'),
    },
    outdir: path.join(root, 'dist'),
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

function buildEngineSync(root) {
  require('esbuild').buildSync(existingEntries(engineOptions(root)));
}

async function buildEngine(root) {
  await require('esbuild').build(existingEntries(engineOptions(root)));
}

module.exports = { buildEngineSync, buildEngine, engineOptions };

#!/usr/bin/env node
// Launcher: runs the bundled engine, building it first when the bundle is missing or older than
// the sources (npm may or may not have run `prepare`, depending on its install-script policy).
'use strict';
const path = require('node:path');
const fs = require('node:fs');
const root = path.resolve(__dirname, '..');
const bundle = path.join(root, 'dist', 'engine', 'reclf.cjs');

function newestSource(dir) {
  let newest = 0;
  if (!fs.existsSync(dir)) return newest;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

// The bundle inlines src/ and the JSON schemas it validates with (schemas/), so both count.
const inputs = ['src', 'schemas'].map((d) => path.join(root, d));
const stale = !fs.existsSync(bundle) || Math.max(...inputs.map(newestSource)) > fs.statSync(bundle).mtimeMs;
if (stale) {
  require(path.join(root, 'scripts', 'build-engine.cjs')).buildEngineSync(root);
}
require(bundle).runProcess(process.argv.slice(2));

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../helpers/tiny';

// bin/reclf.js rebuilds a stale bundle on launch; another engine process starting meanwhile must
// read the old bundle or the new one. A rebuild that rewrites the file in place keeps its inode
// (and a reader can see it half-written); one that renames a complete temp file over it does not.
test('the engine bundle is replaced by rename, never rewritten in place, and leaves no temp files', () => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { buildEngineSync } = require(path.join(repoRoot, 'scripts', 'build-engine.cjs')) as { buildEngineSync: (root: string, outdir?: string) => void };
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-bundle-'));
  const bundle = path.join(out, 'engine', 'reclf.cjs');
  buildEngineSync(repoRoot, out);
  const first = fs.statSync(bundle).ino;
  const fd = fs.openSync(bundle, 'r');
  const before = fs.fstatSync(fd).size;
  buildEngineSync(repoRoot, out);
  assert.notEqual(fs.statSync(bundle).ino, first, 'a new file took the old one\'s name');
  assert.equal(fs.fstatSync(fd).size, before, 'a process that opened the old bundle still reads all of it');
  fs.closeSync(fd);
  const left = fs.readdirSync(path.join(out, 'engine')).filter((f) => f.endsWith('.tmp'));
  assert.deepEqual(left, []);
  assert.match(fs.readFileSync(bundle, 'utf8'), /runProcess/);
  fs.rmSync(out, { recursive: true, force: true });
});

// GPU backends (WebGPU on Dawn) have no synchronous read-back in Node: a synchronous read on the
// training, evaluation, explanation or export paths breaks them. Only the benchmarks (src/bench)
// may use one, to time a backend that has it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';

const SRC = path.resolve(__dirname, '..', '..', 'src');
const ALLOWED = [path.join(SRC, 'bench') + path.sep];
const SYNC_READ = /\b(dataSync|arraySync|bufferSync)\b/;

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sources(p) : /\.(ts|tsx|js|mjs|cjs)$/.test(e.name) ? [p] : [];
  });
}

test('no synchronous tensor read in src/ outside the benchmarks', () => {
  const offenders: string[] = [];
  for (const file of sources(SRC)) {
    if (ALLOWED.some((a) => file.startsWith(a))) continue;
    fs.readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (SYNC_READ.test(line)) offenders.push(`${path.relative(SRC, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, [], `synchronous reads (use await t.data() / readAll from src/core/runtime/host-read.ts):\n${offenders.join('\n')}`);
});

test('the rule sees a synchronous read (the scan is not vacuous)', () => {
  assert.ok(sources(SRC).length > 100);
  assert.ok(SYNC_READ.test('const x = t.dataSync();') && SYNC_READ.test('t.arraySync()') && !SYNC_READ.test('await t.data()'));
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import type { StudyRecord } from '../../src/core/data/manifest-types';

const repoRoot = path.resolve(__dirname, '..', '..');

function reclf(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src', 'engine', 'main.ts'), ...args], {
    cwd: repoRoot, encoding: 'utf8', timeout: 60_000,
  });
}

test('reclf synth --n 20 writes a complete, valid, reproducible dataset', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-synth-cli-'));
  try {
    const out = path.join(dir, 'set');
    const r = reclf(['synth', '--out', out, '--n', '20', '--seed', '3', '--size', '64', '--split', '0.5,0.25,0.25', '--json']);
    assert.equal(r.status, 0, r.stderr);
    const summary = JSON.parse(r.stdout.trim());
    assert.equal(summary.n, 20);
    assert.equal(summary.size, 64);
    assert.equal(summary.counts.train + summary.counts.valid + summary.counts.test, 20);
    assert.match(r.stderr, /20\/20 \(100%\).*ETA/);

    const lines = fs.readFileSync(path.join(out, 'manifest.jsonl'), 'utf8').trim().split('\n');
    assert.equal(lines.length, 20);
    const records: StudyRecord[] = lines.map((l) => JSON.parse(l));
    assert.equal(new Set(records.map((x) => x.id)).size, 20);
    for (const rec of records) {
      const meta = await sharp(path.join(out, rec.image)).metadata();
      assert.equal(meta.width, 64);
      assert.equal(meta.channels, 1);
      assert.ok(rec.report && rec.words && rec.words.length > 5);
      for (const w of rec.words!) assert.equal(rec.report!.slice(w.start!, w.end!), w.text);
      if (rec.mask) {
        const m = await sharp(path.join(out, rec.mask)).extractChannel(0).raw().toBuffer();
        assert.ok(m.every((v) => v === 0 || v === 255));
        assert.ok(m.some((v) => v === 255));
      }
    }
    const info = JSON.parse(fs.readFileSync(path.join(out, 'synth.json'), 'utf8'));
    assert.deepEqual([info.seed, info.n, info.size], [3, 20, 64]);

    // Same command again into a second folder: byte-identical manifest and images.
    const out2 = path.join(dir, 'again');
    const r2 = reclf(['synth', '--out', out2, '--n', '20', '--seed', '3', '--size', '64', '--split', '0.5,0.25,0.25']);
    assert.equal(r2.status, 0, r2.stderr);
    assert.match(r2.stdout, /wrote 20 studies/);
    assert.ok(fs.readFileSync(path.join(out, 'manifest.jsonl')).equals(fs.readFileSync(path.join(out2, 'manifest.jsonl'))));
    assert.ok(fs.readFileSync(path.join(out, 'synth.json')).equals(fs.readFileSync(path.join(out2, 'synth.json'))));
    for (const rec of records) assert.ok(fs.readFileSync(path.join(out, rec.image)).equals(fs.readFileSync(path.join(out2, rec.image))), rec.image);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('reclf synth: user mistakes exit 2 with one line naming the option', () => {
  const r = reclf(['synth', '--out', path.join(os.tmpdir(), 'reclf-never-written'), '--n', '3', '--split', '0.5,0.5']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^reclf synth: .*--split/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const h = reclf(['synth', '--help']);
  assert.equal(h.status, 0);
  assert.match(h.stdout, /--out DIR/);
  const missing = reclf(['synth', '--n', '3']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /--out/);
});

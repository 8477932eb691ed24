import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { copyFixture, makeImage, repoRoot } from '../core/data/importers/fixture-helpers';

function reclf(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(repoRoot, 'src/engine/main.ts'), ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('reclf import rsna --json: warnings as events, summary on stderr, manifest + symlinked images', async () => {
  const root = copyFixture('rsna');
  await makeImage(path.join(root, 'imgs', '0004cfab-14fd-4e49-80ba-63a80b6bddd6.dcm'));
  await makeImage(path.join(root, 'imgs', '00436515-870c-4b36-a041-de91049b9ab4.png'));
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-out-'));
  const r = reclf(['import', 'rsna', '--root', root, '--csv', 'stage_2_train_labels.csv', '--out', out, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(lines.filter((l) => l.type === 'warning').length, 3);
  assert.deepEqual(lines[lines.length - 1], { written: 2, skipped: 3, filtered: 0, out });
  assert.match(r.stderr, /import rsna: wrote 2 studies .* 3 bad rows skipped/);
  const manifest = fs.readFileSync(path.join(out, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { image: string });
  assert.equal(manifest.length, 2);
  for (const m of manifest) {
    const p = path.join(out, m.image);
    assert.ok(fs.lstatSync(p).isSymbolicLink());
    assert.ok(fs.existsSync(p));
  }
});

test('reclf import siim --copy writes 1024x1024 PNG masks; --help documents placement; user errors exit 2 without a stack', async () => {
  const root = copyFixture('siim');
  await makeImage(path.join(root, '1.2.276.0.7230010.3.1.4.8323329.4904.1517875185.355709.png'));
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-out-'));
  const r = reclf(['import', 'siim', '--root', root, '--csv', 'train-rle.csv', '--out', out, '--copy']);
  assert.equal(r.code, 0, r.stderr);
  const [study] = fs.readFileSync(path.join(out, 'manifest.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { image: string; mask: string });
  assert.ok(fs.lstatSync(path.join(out, study.image)).isFile());
  const meta = await sharp(path.join(out, study.mask)).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels], [1024, 1024, 1]);
  const data = await sharp(path.join(out, study.mask)).extractChannel(0).raw().toBuffer();
  assert.equal(data[5 * 1024 + 0], 255);
  assert.equal(data[4 * 1024 + 0], 0);
  assert.equal(data[976 * 1024 + 1], 255);
  assert.equal(data.reduce((a, v) => a + (v ? 1 : 0), 0), 9);

  const help = reclf(['import', 'siim', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /symlinked by default \(--link/);
  const bad = reclf(['import', 'rsna', '--root', root, '--csv', 'nope.csv', '--out', out]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^reclf import rsna: cannot read CSV file .*nope\.csv/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
});

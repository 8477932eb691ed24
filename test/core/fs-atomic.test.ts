import { test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  removeStaleTempFiles, sha256File, tempPathFor, writeFileAtomic, writeFileAtomicAsync, WriteError,
} from '../../src/core/fs-atomic';
import { isUserError } from '../../src/core/errors';
import { freeBytes, withTinyDisk } from '../helpers/tmpfs';

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-atomic-'));
}

for (const [name, write] of [
  ['writeFileAtomic', async (f: string, d: Uint8Array | string, o?: Parameters<typeof writeFileAtomic>[2]) => writeFileAtomic(f, d, o)],
  ['writeFileAtomicAsync', writeFileAtomicAsync],
] as const) {
  test(`${name}: writes the whole file, leaves no temp file, and a failed check keeps the old file`, async () => {
    const dir = tmpDir();
    const file = path.join(dir, 'sub', 'a.bin');
    const big = crypto.randomBytes(9 << 20); // more than one 4 MiB chunk
    await write(file, big);
    assert.ok(fs.readFileSync(file).equals(big));
    await write(file, 'second');
    assert.equal(fs.readFileSync(file, 'utf8'), 'second');
    await assert.rejects(Promise.resolve().then(() => write(file, 'third', { verify: () => { throw new Error('bad header'); } })), /bad header/);
    assert.equal(fs.readFileSync(file, 'utf8'), 'second');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'sub')), ['a.bin']);
  });

  test(`${name}: a full disk is a one-line WriteError, the old file intact and no temp file left`, async (t) => {
    await withTinyDisk(t, 1, async (mnt) => {
      const file = path.join(mnt, 'model.bin');
      await write(file, 'old contents');
      fs.writeFileSync(path.join(mnt, 'filler'), Buffer.alloc(Math.max(0, freeBytes(mnt) - 64 * 1024)));
      // The kernel accepts a short write first (what used to be renamed into place), then ENOSPC.
      await assert.rejects(Promise.resolve().then(() => write(file, Buffer.alloc(512 * 1024, 7))), (e: unknown) => {
        assert.ok(e instanceof WriteError);
        assert.ok(isUserError(e));
        assert.equal((e as WriteError).code, 'ENOSPC');
        assert.equal((e as Error).message, `cannot write ${file}: no space left on device (ENOSPC)`);
        return true;
      });
      assert.equal(fs.readFileSync(file, 'utf8'), 'old contents');
      assert.deepEqual(fs.readdirSync(mnt).sort(), ['filler', 'model.bin']);
    });
  });
}

test('an fs failure other than a full disk is also a one-line WriteError naming the file', () => {
  const dir = tmpDir();
  fs.writeFileSync(path.join(dir, 'run'), 'a file where a folder should be');
  const file = path.join(dir, 'run', 'config.json');
  assert.throws(() => writeFileAtomic(file, '{}'), (e: unknown) => {
    assert.ok(e instanceof WriteError);
    assert.match((e as Error).message, /^cannot write .*run\/config\.json: .*\((EEXIST|ENOTDIR)\)$/);
    return true;
  });
});

test('removeStaleTempFiles removes temp files of dead processes only', () => {
  const dir = tmpDir();
  // A process that has exited: its pid is free (until reused, which a live-pid check then respects).
  const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout);
  const stale = path.join(dir, `.step-00000004.safetensors.${deadPid}.1700000000000-3.tmp`);
  const staleOldStyle = path.join(dir, `.best.safetensors.${deadPid}.1700000000000.tmp`);
  const live = tempPathFor(path.join(dir, 'config.json')); // this process: a write in flight
  fs.writeFileSync(stale, Buffer.alloc(1000));
  fs.writeFileSync(staleOldStyle, Buffer.alloc(10));
  fs.writeFileSync(live, '{');
  fs.writeFileSync(path.join(dir, 'notes.tmp'), 'not ours');
  fs.writeFileSync(path.join(dir, 'step-00000002.safetensors'), 'x');
  const r = removeStaleTempFiles(dir);
  assert.deepEqual(r.removed.sort(), [staleOldStyle, stale].sort());
  assert.equal(r.bytes, 1010);
  assert.deepEqual(fs.readdirSync(dir).sort(), [path.basename(live), 'notes.tmp', 'step-00000002.safetensors'].sort());
  assert.deepEqual(removeStaleTempFiles(path.join(dir, 'missing')), { removed: [], bytes: 0 });
});

test('sha256File hashes the bytes', () => {
  const f = path.join(tmpDir(), 'm.jsonl');
  const bytes = crypto.randomBytes(3 << 20);
  fs.writeFileSync(f, bytes);
  assert.equal(sha256File(f), crypto.createHash('sha256').update(bytes).digest('hex'));
});

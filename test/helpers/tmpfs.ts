// A small tmpfs for disk-full tests: mounted for the duration of `fn`, always unmounted after.
// Mounting needs root (or CAP_SYS_ADMIN); where it fails the test is skipped with the reason.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';

export async function withTinyDisk(t: TestContext, sizeMb: number, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'reclf-tinydisk-'));
  const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', dir], { encoding: 'utf8' });
  if (mount.status !== 0) {
    fs.rmSync(dir, { recursive: true, force: true });
    const why = (mount.stderr || mount.error?.message || `exit ${mount.status}`).trim().split('\n')[0];
    t.skip(`cannot mount a ${sizeMb} MB tmpfs for the disk-full case (${why})`);
    return;
  }
  try {
    await fn(dir);
  } finally {
    if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Bytes still free on the filesystem holding `dir`. */
export function freeBytes(dir: string): number {
  const s = fs.statfsSync(dir);
  return s.bavail * s.bsize;
}

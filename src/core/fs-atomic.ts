// Atomic file writes: write to a temp file in the same folder, fsync, rename, fsync the folder.
// A crash leaves either the old file or the new one, never a torn one.
import fs from 'node:fs';
import path from 'node:path';

export function writeFileAtomic(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(dir);
}

export function writeJsonAtomic(file: string, value: unknown): void {
  writeFileAtomic(file, JSON.stringify(value, null, 2) + '\n');
}

export function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  } catch {
    /* some filesystems refuse to fsync directories; the rename is still atomic */
  }
}

/** Resolves `rel` inside `root`; returns undefined when it would escape (.., absolute, symlink-free check). */
export function resolveInside(root: string, rel: string): string | undefined {
  if (typeof rel !== 'string' || rel.length === 0 || rel.includes('\0')) return undefined;
  if (path.isAbsolute(rel)) return undefined;
  const base = path.resolve(root);
  const full = path.resolve(base, rel);
  const relBack = path.relative(base, full);
  if (relBack === '' || relBack.startsWith('..') || path.isAbsolute(relBack)) return undefined;
  return full;
}

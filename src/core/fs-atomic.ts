// Atomic file writes: write to a temp file in the same folder, fsync, check, rename, fsync the
// folder. A crash leaves either the old file or the new one, never a torn one; a failed write
// (disk full, quota, I/O error) removes its temp file, leaves the old file alone and throws a
// WriteError, a one-line message naming the file and the cause.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const CAUSES: Record<string, string> = {
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EIO: 'input/output error',
  EFBIG: 'file too large',
  ENOENT: 'folder does not exist',
  ENOTDIR: 'a parent is not a folder',
  EISDIR: 'is a folder',
  EMFILE: 'too many open files',
};

/** A file could not be written. Its message is one line: `cannot write FILE: cause (CODE)`. */
export class WriteError extends Error {
  readonly userError = true;
  /** Process exit status for the CLI: the environment failed, not the user's input. */
  readonly exitCode = 1;
  constructor(readonly file: string, readonly code: string | undefined, cause: string) {
    super(`cannot write ${file}: ${cause}${code ? ` (${code})` : ''}`);
    this.name = 'WriteError';
  }
}

/** Wraps a Node fs error (or a failed check) into a WriteError for `file`; other errors pass through. */
export function toWriteError(file: string, e: unknown): Error {
  if (e instanceof WriteError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return new WriteError(file, code, CAUSES[code] ?? (e as Error).message.split('\n')[0]);
  if (e instanceof Error && (e as { userError?: unknown }).userError === true) return new WriteError(file, undefined, e.message);
  return e instanceof Error ? e : new Error(String(e));
}

let tmpCounter = 0;

/** `.NAME.PID.TIME-N.tmp` next to `file`: hidden, unique, and naming the writing process. */
export function tempPathFor(file: string): string {
  return path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}-${tmpCounter++}.tmp`);
}

const TEMP_FILE = /^\..+\.(\d+)\.\d+(?:-\d+)?\.tmp$/;

export interface AtomicWriteOptions {
  /**
   * Runs on the complete, fsynced temp file before it is renamed into place; throwing keeps the
   * old file. `fd` is open for reading.
   */
  verify?: (fd: number, tmp: string) => void;
}

function toBuffer(data: string | Uint8Array): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function checkWritten(fd: number, expected: number, file: string): void {
  const size = fs.fstatSync(fd).size;
  if (size !== expected) throw new WriteError(file, undefined, `only ${size} of ${expected} bytes reached the disk`);
}

function removeQuietly(file: string): void {
  try { fs.rmSync(file, { force: true }); } catch { /* the original error matters more */ }
}

export function writeFileAtomic(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const dir = path.dirname(file);
  const buf = toBuffer(data);
  let tmp: string | undefined;
  let fd: number | undefined;
  try {
    fs.mkdirSync(dir, { recursive: true });
    tmp = tempPathFor(file);
    fd = fs.openSync(tmp, 'wx+');
    // writeSync may write less than asked (a filling disk): loop until done or an error.
    let off = 0;
    while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    fs.fsyncSync(fd);
    checkWritten(fd, buf.length, file);
    opts.verify?.(fd, tmp);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, file);
    tmp = undefined;
  } catch (e) {
    if (fd !== undefined) try { fs.closeSync(fd); } catch { /* already failing */ }
    if (tmp !== undefined) removeQuietly(tmp);
    throw toWriteError(file, e);
  }
  fsyncDir(dir);
}

const CHUNK = 4 << 20;

/**
 * writeFileAtomic without blocking the event loop: the data goes out in 4 MiB chunks, so a
 * signal handler (a second Ctrl-C) can run mid-write; exiting then leaves only a temp file,
 * which `removeStaleTempFiles` clears on the next start.
 */
export async function writeFileAtomicAsync(file: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<void> {
  const dir = path.dirname(file);
  const buf = toBuffer(data);
  let tmp: string | undefined;
  let fh: fs.promises.FileHandle | undefined;
  try {
    await fs.promises.mkdir(dir, { recursive: true });
    tmp = tempPathFor(file);
    fh = await fs.promises.open(tmp, 'wx+');
    let off = 0;
    while (off < buf.length) {
      const { bytesWritten } = await fh.write(buf, off, Math.min(CHUNK, buf.length - off));
      off += bytesWritten;
    }
    await fh.sync();
    checkWritten(fh.fd, buf.length, file);
    opts.verify?.(fh.fd, tmp);
    await fh.close();
    fh = undefined;
    await fs.promises.rename(tmp, file);
    tmp = undefined;
  } catch (e) {
    if (fh !== undefined) await fh.close().catch(() => undefined);
    if (tmp !== undefined) removeQuietly(tmp);
    throw toWriteError(file, e);
  }
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

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Deletes the temp files an interrupted atomic write left in `dir` (not recursive): those named
 * by `tempPathFor` whose writing process is gone. A live process's temp file is left alone.
 */
export function removeStaleTempFiles(dir: string): { removed: string[]; bytes: number } {
  const out = { removed: [] as string[], bytes: 0 };
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of names) {
    const m = TEMP_FILE.exec(name);
    if (!m || processAlive(Number(m[1]))) continue;
    const file = path.join(dir, name);
    try {
      const st = fs.lstatSync(file);
      if (!st.isFile()) continue;
      fs.rmSync(file);
      out.removed.push(file);
      out.bytes += st.size;
    } catch {
      /* gone already, or not ours to delete */
    }
  }
  return out;
}

/** SHA-256 (hex) of a file's bytes, read in chunks. */
export function sha256File(file: string): string {
  const hash = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
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

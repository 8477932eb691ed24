// What the engine agrees to read, checked before it reads: containment by real path (a file a
// manifest, config or model names must stay under its root once every symlink is followed) and
// size limits that hold before any allocation (file sizes from stat, image sizes from headers).
import fs from 'node:fs';
import path from 'node:path';

/** 20 MP: generous for real chest X-rays (a 4,000 x 5,000 detector image). */
export const DEFAULT_MAX_IMAGE_PIXELS = 20_000_000;
/** Image files above this size are refused before they are read. */
export const DEFAULT_MAX_IMAGE_BYTES = 512 * 1024 * 1024;
/** Report text (a report_file, an inline report, `explain --report`) above this size is refused. */
export const DEFAULT_MAX_REPORT_BYTES = 1024 * 1024;
/** A vocabulary file (vocab.txt, tokenizer.json) above this size is refused. */
export const MAX_VOCAB_BYTES = 64 * 1024 * 1024;

export interface InputLimits {
  /** Largest width x height an image may declare in its header. */
  maxImagePixels: number;
  maxImageBytes: number;
  maxReportBytes: number;
}

export const DEFAULT_INPUT_LIMITS: Readonly<InputLimits> = Object.freeze({
  maxImagePixels: DEFAULT_MAX_IMAGE_PIXELS,
  maxImageBytes: DEFAULT_MAX_IMAGE_BYTES,
  maxReportBytes: DEFAULT_MAX_REPORT_BYTES,
});

/** Every limit, defaults filled for the ones not given (undefined counts as not given). */
export function resolveLimits(given: Partial<InputLimits> = {}): InputLimits {
  return {
    maxImagePixels: given.maxImagePixels ?? DEFAULT_MAX_IMAGE_PIXELS,
    maxImageBytes: given.maxImageBytes ?? DEFAULT_MAX_IMAGE_BYTES,
    maxReportBytes: given.maxReportBytes ?? DEFAULT_MAX_REPORT_BYTES,
  };
}

/** "512 MiB", "1 MiB", "3.2 KiB", "17 bytes". */
export function formatBytes(n: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${n} bytes` : `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[u]}`;
}

/** "20 MP", "0.3 MP", "4096 pixels". */
export function formatPixels(n: number): string {
  if (n < 100_000) return `${n} pixels`;
  const mp = n / 1e6;
  return `${mp >= 10 || Number.isInteger(mp) ? Math.round(mp) : mp.toFixed(1)} MP`;
}

/** Why width x height is refused under maxPixels (undefined when it is within the limit). */
export function pixelLimitProblem(width: number, height: number, maxPixels: number, field = 'data.maxImagePixels'): string | undefined {
  const n = width * height;
  if (n <= maxPixels) return undefined;
  return `image is ${width}x${height} (${formatPixels(n)}), more than the ${formatPixels(maxPixels)} limit (${field})`;
}

/** What a non-regular file is, for messages: "a folder", "a character device", … */
export function describeKind(st: fs.Stats): string {
  if (st.isFile()) return 'a regular file';
  if (st.isDirectory()) return 'a folder';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** True when `real` is `root` or lies under it (both absolute, already real paths). */
export function isUnder(real: string, root: string): boolean {
  const rel = path.relative(root, real);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

export type RealFileResult =
  | { ok: true; real: string; size: number }
  | { ok: false; reason: string };

export interface RealFileOptions {
  /** Real paths the file may resolve into (after following every symlink). */
  roots: readonly string[];
  /** Names the roots in the refusal: "the dataset folder". */
  rootName: string;
  /** Largest accepted size in bytes. */
  maxBytes?: number;
  /** Names the limit in the refusal: "data.maxImageBytes". */
  limitName?: string;
  /** What `shown` is called in the messages (defaults to the path). */
  shown?: string;
  /** Replaces "(symlinks may not lead out of it)" after an outside path: how to fix it. */
  outsideHint?: string;
}

/**
 * Follows every symlink of `full` (fs.realpathSync) and accepts it only when the real path is a
 * regular file under one of `roots` and no larger than maxBytes. Never opens the file, so FIFOs
 * and devices are refused without blocking.
 */
export function realFileUnder(full: string, opts: RealFileOptions): RealFileResult {
  const shown = opts.shown ?? full;
  let real: string;
  try {
    // One realpath(3) call per file (the JS version lstat()s every path component).
    real = fs.realpathSync.native(full);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      // A dangling link names its target in the message: the usual cause is a moved source tree.
      let target: string | undefined;
      try {
        target = fs.readlinkSync(full);
      } catch {
        target = undefined;
      }
      return { ok: false, reason: target !== undefined ? `file not found: ${shown} (a broken link to ${target})` : `file not found: ${shown}` };
    }
    if (code === 'ELOOP') return { ok: false, reason: `${shown}: too many levels of symbolic links` };
    if (code === 'ENOTDIR') return { ok: false, reason: `file not found: ${shown}` };
    return { ok: false, reason: `cannot resolve ${shown} (${code ?? (e as Error).message})` };
  }
  if (!opts.roots.some((r) => isUnder(real, r))) {
    return { ok: false, reason: `${shown} resolves to ${real}, outside ${opts.rootName} (${opts.outsideHint ?? 'symlinks may not lead out of it'})` };
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(real);
  } catch (e) {
    return { ok: false, reason: `cannot read ${shown} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  if (!st.isFile()) return { ok: false, reason: `${shown} is ${describeKind(st)}, not a regular file` };
  if (opts.maxBytes !== undefined && st.size > opts.maxBytes) {
    return {
      ok: false,
      reason: `${shown} is ${formatBytes(st.size)}, more than the ${formatBytes(opts.maxBytes)} limit${opts.limitName ? ` (${opts.limitName})` : ''}`,
    };
  }
  return { ok: true, real, size: st.size };
}

/** The real path of an existing folder (undefined when it does not exist or is not a folder). */
export function realDir(dir: string): string | undefined {
  try {
    const real = fs.realpathSync.native(dir);
    return fs.statSync(real).isDirectory() ? real : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A path given on the command line (`explain --image`, `--report`) must name a regular file of at
 * most maxBytes: /dev/zero, a FIFO or a folder would otherwise be read without end or block.
 * Returns the real path, or the reason it is refused.
 */
export function regularInputFile(file: string, maxBytes: number, limitName?: string, shown?: string): RealFileResult {
  return realFileUnder(file, { roots: [path.parse(path.resolve(file)).root], rootName: 'the file system', maxBytes, limitName, shown });
}

// Writes engine events as JSON lines on stdout (and optionally appends them to a run's
// events.jsonl). Human-readable logs go to stderr so stdout stays machine-parseable.
import fs from 'node:fs';
import path from 'node:path';
import type { EngineEvent } from '../protocol/events';
import { toWriteError } from '../core/fs-atomic';

export interface EventSink {
  emit(event: EngineEvent): void;
  log(message: string): void;
  /** Also append every event to this file (the run folder's events.jsonl). */
  attachFile(path: string): void;
}

export function createEventSink(opts: { stdout?: NodeJS.WritableStream; stderr?: NodeJS.WritableStream; quiet?: boolean } = {}): EventSink {
  const out = opts.stdout ?? process.stdout;
  const err = opts.stderr ?? process.stderr;
  let fd: number | undefined;
  let file = '';
  // After a failed append (disk full) the file may end in a torn line: the next line that does
  // get written starts on a fresh line, and the failure is reported once, not on every event.
  let broken = false;
  const append = (line: string): void => {
    if (fd === undefined) return;
    const buf = Buffer.from(broken ? '\n' + line : line, 'utf8');
    try {
      let off = 0;
      while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
      if (broken) err.write(`reclf: ${file}: appending events again\n`);
      broken = false;
    } catch (e) {
      if (!broken) err.write(`reclf: ${toWriteError(file, e).message}; events still go to stdout\n`);
      broken = true;
    }
  };
  return {
    emit(event) {
      const line = JSON.stringify(event) + '\n';
      out.write(line);
      append(line);
    },
    log(message) {
      if (!opts.quiet) err.write(message + '\n');
    },
    attachFile(p) {
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
      try {
        fd = fs.openSync(p, 'a');
      } catch (e) {
        throw toWriteError(p, e);
      }
      file = p;
      broken = false;
    },
  };
}

let version: string | undefined;

/** The engine's version: package.json's, found above this module (src/engine or dist/engine). */
export function engineVersion(): string {
  if (version !== undefined) return version;
  version = 'unknown';
  let dir = __dirname;
  for (let i = 0; i < 4; i++) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'reclf-studio' && typeof pkg.version === 'string') {
        version = pkg.version;
        break;
      }
    } catch {
      /* not here */
    }
    dir = path.dirname(dir);
  }
  return version;
}

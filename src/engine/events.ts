// Writes engine events as JSON lines on stdout (and optionally appends them to a run's
// events.jsonl). Human-readable logs go to stderr so stdout stays machine-parseable.
import fs from 'node:fs';
import type { EngineEvent } from '../protocol/events';

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
  return {
    emit(event) {
      const line = JSON.stringify(event) + '\n';
      out.write(line);
      if (fd !== undefined) fs.writeSync(fd, line);
    },
    log(message) {
      if (!opts.quiet) err.write(message + '\n');
    },
    attachFile(path) {
      if (fd !== undefined) fs.closeSync(fd);
      fd = fs.openSync(path, 'a');
    },
  };
}

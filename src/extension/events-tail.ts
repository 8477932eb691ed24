// Follows a growing file (a run's events.jsonl or engine.log) from a byte offset by polling:
// fs.watch misses appends on network drives and after a reload we only have the path.
import fs from 'node:fs';

export class FileTail {
  private timer: ReturnType<typeof setInterval> | undefined;
  private partial = '';

  constructor(
    readonly file: string,
    private position: number,
    private readonly onLine: (line: string) => void,
  ) {}

  /** Byte offset already consumed (whole lines only): persist it to resume after a reload. */
  get offset(): number {
    return this.position - Buffer.byteLength(this.partial);
  }

  start(intervalMs = 250): this {
    this.timer ??= setInterval(() => this.poll(), intervalMs);
    return this;
  }

  /** Reads whatever was appended since the last poll. */
  poll(): void {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return; // not created yet
    }
    try {
      const size = fs.fstatSync(fd).size;
      if (size < this.position) this.position = 0; // truncated or replaced: start over
      while (this.position < size) {
        const buf = Buffer.alloc(Math.min(size - this.position, 1 << 20));
        const n = fs.readSync(fd, buf, 0, buf.length, this.position);
        if (n <= 0) break;
        this.position += n;
        const parts = (this.partial + buf.subarray(0, n).toString('utf8')).split('\n');
        this.partial = parts.pop() ?? '';
        for (const p of parts) if (p.trim()) this.onLine(p);
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Final read, including an unterminated last line, then stop. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.poll();
    if (this.partial.trim()) this.onLine(this.partial);
    this.partial = '';
  }
}

export function fileSize(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

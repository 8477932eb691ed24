// One progress line for a long command: rewritten in place on a terminal, a log event otherwise,
// at most once per interval except for the last one.
import type { CommandContext } from './command';

/**
 * Returns report(line, last): shows `line` unless the previous one (or the start) was less than
 * `everyMs` ago; the last line is always shown, so a short job prints only its result.
 */
export function progressLine(ctx: Pick<CommandContext, 'tty' | 'events'>, everyMs: number, now: () => number = () => performance.now()): (line: string, last: boolean) => void {
  let shown = now();
  return (line, last) => {
    const t = now();
    if (!last && t - shown < everyMs) return;
    shown = t;
    if (ctx.tty) process.stderr.write(`\r${line}${last ? '\n' : ''}`);
    else ctx.events.log(line);
  };
}

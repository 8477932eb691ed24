// `reclf` entry point: finds the subcommand (one or two words), parses its flags, runs it.
// User mistakes (UsageError, DataError) print one line and exit 2; failures of the environment
// (a disk full: WriteError) print one line and exit with their own status (1); anything else is
// a bug and keeps its stack trace.
import * as tf from '@tensorflow/tfjs-core';
import { formatHelp, parseArgs, UsageError } from './args';
import type { Command } from './command';
import { commands } from './commands/index';
import { createEventSink, engineVersion } from './events';
import { isUserError } from '../core/errors';

const VERSION = engineVersion();

/**
 * TF.js prints advice through its own warn(), silenced by the PROD flag (which changes nothing
 * else in tfjs-core 4.22): the cpu backend's "Hi, looks like you are running TensorFlow.js in
 * Node.js... install our node backend" banner on its first tensor, and kernel re-registration
 * notices. Nothing there is for our users to act on; the engine reports its backend choice itself.
 */
export function quietTfjs(): void {
  tf.env().set('PROD', true);
}

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.spec.name.length)) + 2;
  return [
    `reclf ${VERSION} — RECLF Studio engine: chest X-ray / report alignment (pretrain, evaluate, explain)`,
    '',
    'Usage: reclf <command> [options]      reclf <command> --help',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.spec.name.padEnd(width)}${c.spec.summary}`),
    '',
    'Events go to stdout as JSON lines; logs and progress go to stderr.',
  ].join('\n');
}

function findCommand(argv: string[]): { cmd: Command; rest: string[] } | undefined {
  for (const words of [2, 1]) {
    const name = argv.slice(0, words).join(' ');
    const cmd = commands.find((c) => c.spec.name === name);
    if (cmd) return { cmd, rest: argv.slice(words) };
  }
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(topHelp() + '\n');
    return 0;
  }
  if (argv[0] === '--version') { process.stdout.write(VERSION + '\n'); return 0; }
  const found = findCommand(argv);
  if (!found) {
    const group = commands.filter((c) => c.spec.name.startsWith(argv[0] + ' '));
    if (group.length) {
      process.stderr.write(`reclf ${argv[0]}: choose one of: ${group.map((c) => c.spec.name.split(' ')[1]).join(', ')}\n`);
      return 2;
    }
    process.stderr.write(`reclf: unknown command '${argv[0]}'. Run 'reclf --help' for the list.\n`);
    return 2;
  }
  const { cmd, rest } = found;
  quietTfjs();
  try {
    const args = parseArgs(cmd.spec, rest);
    if (args.help) { process.stdout.write(formatHelp(cmd.spec) + '\n'); return 0; }
    return await cmd.run({ args, events: createEventSink(), tty: Boolean(process.stderr.isTTY) });
  } catch (e) {
    if (e instanceof UsageError || isUserError(e)) {
      process.stderr.write(`reclf ${cmd.spec.name}: ${(e as Error).message.split('\n')[0]}\n`);
      const status = (e as { exitCode?: unknown }).exitCode;
      return typeof status === 'number' && Number.isInteger(status) ? status : 2;
    }
    throw e;
  }
}

/**
 * Runs the CLI as a process: sets the exit code, prints internal errors with their stack. If the
 * event loop empties while the command is still awaiting something (a promise nothing can settle
 * any more), Node would exit with status 0 as if the command had succeeded; that is reported as
 * an internal error with status 1 instead.
 */
export function runProcess(argv: string[]): void {
  let settled = false;
  const onBeforeExit = (): void => {
    if (settled) return;
    settled = true;
    process.stderr.write(`reclf: internal error: the command stopped before finishing (it awaited something that can never complete)\n`);
    process.exitCode = 1;
  };
  process.once('beforeExit', onBeforeExit);
  main(argv).then(
    (code) => { settled = true; process.exitCode = code; },
    (e) => { settled = true; process.stderr.write(`reclf: internal error: ${(e as Error)?.stack ?? String(e)}\n`); process.exitCode = 1; },
  ).finally(() => process.off('beforeExit', onBeforeExit));
}

if (require.main === module) runProcess(process.argv.slice(2));

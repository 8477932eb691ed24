// The shape every `reclf` subcommand module exports.
import type { CommandSpec, ParsedArgs } from './args';
import type { EventSink } from './events';

export interface CommandContext {
  args: ParsedArgs;
  events: EventSink;
  /** True when stderr is a terminal (progress bars allowed). */
  tty: boolean;
}

export interface Command {
  spec: CommandSpec;
  /** Resolves to the process exit code. */
  run(ctx: CommandContext): Promise<number>;
}

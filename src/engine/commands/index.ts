// Every `reclf` subcommand, in the order --help lists them.
import type { Command } from '../command';
import { synthCommand } from './synth';
import { infoCommand } from './info';
import { trainCommand } from './train';
import { importCommands } from './import';
import { vocabBuildCommand } from './vocab';
import { benchOps } from './bench';

export const commands: Command[] = [
  synthCommand,
  infoCommand,
  trainCommand,
  ...importCommands,
  vocabBuildCommand,
  benchOps,
];

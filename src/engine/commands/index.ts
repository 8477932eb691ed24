// Every `reclf` subcommand, in the order --help lists them.
import type { Command } from '../command';
import { synthCommand } from './synth';
import { infoCommand } from './info';
import { trainCommand } from './train';
import { evalCommand } from './eval';
import { ablateCommand } from './ablate';
import { jobsCommand } from './jobs';
import { importCommands } from './import';
import { vocabBuildCommand } from './vocab';
import { exportCommand } from './export';
import { explainCommand } from './explain';
import { distributionCommand } from './distribution';
import { serveCommand } from './serve';
import { benchOps } from './bench';
import { benchTrain } from './bench';
import { benchEmbedCommand, benchExplainCommand } from './bench';
import { benchEvalCommand } from './bench-eval';

export const commands: Command[] = [
  synthCommand,
  infoCommand,
  trainCommand,
  evalCommand,
  ablateCommand,
  jobsCommand,
  ...importCommands,
  vocabBuildCommand,
  exportCommand,
  explainCommand,
  distributionCommand,
  serveCommand,
  benchOps,
  benchTrain,
  benchExplainCommand, benchEmbedCommand,
  benchEvalCommand,
];

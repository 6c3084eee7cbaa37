import type { CliCommand } from './command.js';
import { coverCommand } from './commands/cover.js';
import { daemonCommand } from './commands/daemon.js';
import { improveCommand } from './commands/improve.js';
import { makeCommand } from './commands/make.js';
import { mcpCommand } from './commands/mcp.js';
import { slackCommand } from './commands/slack.js';
import { toolsCommand } from './commands/tools.js';
import { workerCommand } from './commands/worker.js';

/** The friendly commands. Add one file under ./commands and list it here. */
export const commands: CliCommand[] = [coverCommand, mcpCommand, toolsCommand, slackCommand, makeCommand, improveCommand, daemonCommand, workerCommand];

export type { CliCommand };

/**
 * What a CLI command is, and the two things every command does: open the app (lazily, with only the tools it
 * needs) and run one tool through the registry. Commands import this, and run.ts imports the commands, so the
 * command list and the entry point never load each other.
 */
import { homedir } from 'node:os';
import type { App } from '../../app.js';
import { loadConfig } from '../../core/config.js';
import { trustTypedPaths } from '../../core/paths.js';
import type { CommandResult } from '../../core/result.js';
import type { ToolContext, ToolDefinition } from '../../tools/types.js';
import type { CliIo } from './io.js';
import { exitCodeFor, printResult, progressPrinter } from './output.js';

/** A friendly CLI command. Each is a thin adapter over tools in the registry. */
export interface CliCommand {
  name: string;
  usage: string;
  summary: string;
  run(args: string[], io: CliIo): Promise<number>;
}

/**
 * Create the app lazily: config errors become a usage error with the variable named. `only` loads just that
 * leaf tool (one that calls no other tool), for a fast cold start; default is every tool.
 */
export async function openApp(io: CliIo, only?: () => Promise<ToolDefinition>): Promise<App> {
  const config = loadConfig(io.env, io.cwd);
  const [{ createApp }, tools] = await Promise.all([
    import('../../app.js'),
    only ? only().then((t) => [t]) : import('../../all-tools.js').then((m) => m.allTools()),
  ]);
  return createApp(config, tools);
}

/**
 * Run one tool through the registry with a progress bar, print, and return the exit code. `typedPaths` are
 * the path arguments the person typed in this command: the tool may use them even outside the allowed roots
 * (see trustTypedPaths); every other path in the call stays under the roots.
 */
export async function runTool(
  app: App,
  io: CliIo,
  name: string,
  input: unknown,
  json: boolean,
  face: ToolContext['face'] = 'cli',
  typedPaths: readonly string[] = [],
): Promise<{ code: number; result: CommandResult }> {
  const bar = progressPrinter(io);
  const ac = new AbortController();
  const onSig = () => ac.abort();
  process.once('SIGINT', onSig);
  try {
    const paths = typedPaths.length ? trustTypedPaths(app.services.paths, { paths: typedPaths, cwd: io.cwd, home: io.env.HOME || homedir() }) : undefined;
    const ctx = app.context({ face, signal: ac.signal, logger: app.services.logger.child({ face }), progress: (p) => bar.update(p), ...(paths ? { paths } : {}) });
    const result = await app.tools.execute(name, input, ctx);
    bar.done();
    printResult(io, result, json);
    return { code: exitCodeFor(result), result };
  } finally {
    process.off('SIGINT', onSig);
  }
}

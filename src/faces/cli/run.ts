import { parseCommandArgs } from './args.js';
import { isLoraloopError } from '../../core/errors.js';
import { openApp, runTool, type CliCommand } from './command.js';
import { commands } from './commands.js';
import type { CliIo } from './io.js';
import { EXIT_FAIL, EXIT_OK, EXIT_USAGE } from './output.js';

export const HELP = `loraloop: brand LoRAs and article covers

Usage:
  loraloop cover "title" [--subtitle S] [--size 1200x630|1024x1024|1080x1350] [--seed N] [--out FILE] [--json]
  loraloop <tool> '<json input>' [--json]      run any tool (cover_route or cover.route spelling; '-' reads stdin)
  loraloop tools                               list the tools with their descriptions
  loraloop mcp                                 MCP server on stdio
  loraloop mcp --http PORT [--host H] [--insecure-local]   MCP over Streamable HTTP at /mcp
%COMMANDS%
Exit codes: 0 success, 1 the tool failed, 2 bad usage.
Environment: see the README (LORALOOP_HOME, LORALOOP_ALLOWED_ROOTS, backends, keys).
`;

function helpText(): string {
  const extra = commands
    .filter((c) => !['cover', 'mcp', 'tools'].includes(c.name))
    .map((c) => `  loraloop ${c.usage}\n      ${c.summary}`)
    .join('\n');
  return HELP.replace('%COMMANDS%', extra ? extra + '\n' : '');
}

/** Entry point of the CLI face. Returns the process exit code; never calls process.exit itself. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [first, ...rest] = argv;
  if (!first || first === 'help' || first === '--help' || first === '-h') {
    io.stdout(helpText());
    return first ? EXIT_OK : EXIT_USAGE;
  }
  if (first === '--version' || first === 'version') {
    io.stdout('loraloop 0.1.0\n');
    return EXIT_OK;
  }
  try {
    const cmd: CliCommand | undefined = commands.find((c) => c.name === first);
    if (cmd) return await cmd.run(rest, io);
    return await runToolCommand(first, rest, io);
  } catch (e) {
    if (isLoraloopError(e)) {
      io.stderr(`error: ${e.toSentence()}\n`);
      return e.code === 'CONFIG_INVALID' || e.code === 'USAGE' ? EXIT_USAGE : EXIT_FAIL;
    }
    io.stderr(`error: ${(e as Error).stack ?? String(e)}\n`);
    return EXIT_FAIL;
  }
}

/** `loraloop <tool> '<json>' [--json]`. */
async function runToolCommand(name: string, rest: string[], io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(io, { args: rest, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
  if (!parsed) return EXIT_USAGE;
  const app = await openApp(io);
  try {
    if (!app.tools.get(name)) {
      io.stderr(`error: "${name}" is neither a command nor a tool. Run "loraloop help" or "loraloop tools".\n`);
      return EXIT_USAGE;
    }
    const raw = parsed.positionals[0] === '-' ? await io.readStdin() : (parsed.positionals[0] ?? '{}');
    let input: unknown;
    try {
      input = JSON.parse(raw);
    } catch (e) {
      io.stderr(`error: the input must be JSON, e.g. loraloop ${name} '{"title":"..."}' (${(e as Error).message}).\n`);
      return EXIT_USAGE;
    }
    const { code } = await runTool(app, io, name, input, parsed.values.json ?? false);
    return code;
  } finally {
    await app.close();
  }
}

export { EXIT_FAIL, EXIT_OK, EXIT_USAGE };

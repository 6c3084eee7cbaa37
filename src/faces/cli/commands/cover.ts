import { parseCommandArgs } from '../args.js';
import { EXIT_USAGE } from '../output.js';
import type { ToolDefinition } from '../../../tools/types.js';
import { openApp, runTool, type CliCommand } from '../command.js';

export const coverCommand: CliCommand = {
  name: 'cover',
  usage: 'cover "title" [options]',
  summary: 'make a finished cover from a title',
  async run(args, io) {
    const p = parseCommandArgs(io, {
      args,
      allowPositionals: true,
      options: {
        subtitle: { type: 'string' },
        size: { type: 'string' },
        seed: { type: 'string' },
        out: { type: 'string', short: 'o' },
        style: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    if (!p) return EXIT_USAGE;
    const title = p.positionals.join(' ');
    if (!title.trim()) {
      io.stderr('error: give the article title, e.g. loraloop cover "Solana ETF inflows hit $1B".\n');
      return EXIT_USAGE;
    }
    let seed: number | undefined;
    if (p.values.seed !== undefined) {
      seed = Number(p.values.seed);
      if (!Number.isInteger(seed) || seed < 0) {
        io.stderr(`error: --seed must be a whole number >= 0, got "${p.values.seed}".\n`);
        return EXIT_USAGE;
      }
    }
    // cover_generate calls no other tool, so only it is loaded: the cold start skips the other 30 tools.
    const app = await openApp(io, () => import('../../../tools/cover_generate.js').then((m) => m.coverGenerateTool as unknown as ToolDefinition));
    try {
      const input = {
        title,
        ...(p.values.subtitle !== undefined ? { subtitle: p.values.subtitle } : {}),
        ...(p.values.size !== undefined ? { size: p.values.size } : {}),
        ...(seed !== undefined ? { seed } : {}),
        ...(p.values.out !== undefined ? { out: p.values.out } : {}),
        ...(p.values.style !== undefined ? { style: p.values.style } : {}),
      };
      // --out is a path the person typed: theirs to choose, inside the allowed roots or not.
      const typed = p.values.out !== undefined ? [p.values.out] : [];
      return (await runTool(app, io, 'cover_generate', input, p.values.json ?? false, 'cli', typed)).code;
    } finally {
      await app.close();
    }
  },
};

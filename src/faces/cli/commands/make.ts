import { parseCommandArgs } from '../args.js';
import { EXIT_USAGE } from '../output.js';
import { openApp, runTool, type CliCommand } from '../command.js';

export const makeCommand: CliCommand = {
  name: 'make',
  usage: 'make "make a Solana cover: <title>" [--planner rules|llm] [--attempts N] [--seconds S]',
  summary: 'the agent: make, critique and regenerate until the cover is good',
  async run(args, io) {
    const p = parseCommandArgs(io, {
      args,
      allowPositionals: true,
      options: {
        planner: { type: 'string' },
        attempts: { type: 'string' },
        seconds: { type: 'string' },
        size: { type: 'string' },
        backend: { type: 'string' },
        subtitle: { type: 'string' },
        json: { type: 'boolean', default: false },
      },
    });
    if (!p) return EXIT_USAGE;
    const request = p.positionals.join(' ').trim();
    if (!request) {
      io.stderr('error: say what to make, e.g. loraloop make "make a Solana cover: Solana ETF inflows hit $1B".\n');
      return EXIT_USAGE;
    }
    const num = (name: string, v: string | undefined): number | undefined | null => {
      if (v === undefined) return undefined;
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) {
        io.stderr(`error: --${name} must be a whole number above 0, got "${v}".\n`);
        return null;
      }
      return n;
    };
    const attempts = num('attempts', p.values.attempts);
    const seconds = num('seconds', p.values.seconds);
    if (attempts === null || seconds === null) return EXIT_USAGE;
    const app = await openApp(io);
    try {
      const input = {
        request,
        ...(p.values.planner !== undefined ? { planner: p.values.planner } : {}),
        ...(attempts !== undefined || seconds !== undefined ? { budget: { ...(attempts ? { attempts } : {}), ...(seconds ? { seconds } : {}) } } : {}),
        ...(p.values.size !== undefined ? { size: p.values.size } : {}),
        ...(p.values.backend !== undefined ? { backend: p.values.backend } : {}),
        ...(p.values.subtitle !== undefined ? { subtitle: p.values.subtitle } : {}),
      };
      return (await runTool(app, io, 'cover_make', input, p.values.json ?? false)).code;
    } finally {
      await app.close();
    }
  },
};

import { parseCommandArgs } from '../args.js';
import { EXIT_USAGE } from '../output.js';
import { openApp, runTool, type CliCommand } from '../command.js';

export const improveCommand: CliCommand = {
  name: 'improve',
  usage: 'improve [--dry-run] [--lora NAME]... [--json]',
  summary: 'run the nightly improvement now (gather, retrain, evaluate, promote)',
  async run(args, io) {
    const p = parseCommandArgs(io, {
      args,
      options: {
        'dry-run': { type: 'boolean', default: false },
        lora: { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
      },
    });
    if (!p) return EXIT_USAGE;
    const app = await openApp(io);
    try {
      const input = { dry_run: p.values['dry-run'] ?? false, ...(p.values.lora?.length ? { loras: p.values.lora } : {}) };
      return (await runTool(app, io, 'improve_run', input, p.values.json ?? false, 'nightly')).code;
    } finally {
      await app.close();
    }
  },
};

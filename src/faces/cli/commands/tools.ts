import { parseCommandArgs } from '../args.js';
import { EXIT_OK, EXIT_USAGE } from '../output.js';
import { openApp, type CliCommand } from '../command.js';

export const toolsCommand: CliCommand = {
  name: 'tools',
  usage: 'tools [--json]',
  summary: 'list every tool',
  async run(args, io) {
    const p = parseCommandArgs(io, { args, options: { json: { type: 'boolean', default: false } } });
    if (!p) return EXIT_USAGE;
    const app = await openApp(io);
    try {
      const list = app.tools.list();
      if (p.values.json) {
        io.stdout(JSON.stringify(list.map((t) => ({ name: t.name, title: t.title, description: t.description, annotations: t.annotations })), null, 2) + '\n');
      } else {
        for (const t of list) io.stdout(`${t.name.padEnd(22)} ${t.description.split('. ')[0]}.\n`);
      }
      return EXIT_OK;
    } finally {
      await app.close();
    }
  },
};

import { parseArgs } from 'node:util';
import type { CliCommand } from '../commands.js';
import { EXIT_OK } from '../output.js';
import { openApp } from '../run.js';

export const toolsCommand: CliCommand = {
  name: 'tools',
  usage: 'tools [--json]',
  summary: 'list every tool',
  async run(args, io) {
    const p = parseArgs({ args, options: { json: { type: 'boolean', default: false } } });
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

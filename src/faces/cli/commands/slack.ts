import { parseCommandArgs } from '../args.js';
import { EXIT_OK, EXIT_USAGE } from '../output.js';
import { openApp, type CliCommand } from '../command.js';

/** `loraloop slack`: the Slack bot, until SIGINT/SIGTERM. */
export const slackCommand: CliCommand = {
  name: 'slack',
  usage: 'slack [--port N] [--host H]',
  summary: 'run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP at /slack/events)',
  async run(args, io) {
    const p = parseCommandArgs(io, {
      args,
      options: {
        port: { type: 'string', default: '3000' },
        host: { type: 'string', default: '127.0.0.1' },
      },
    });
    if (!p) return EXIT_USAGE;
    const port = Number(p.values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      io.stderr(`error: --port takes a port number, got "${p.values.port}".\n`);
      return EXIT_USAGE;
    }
    const app = await openApp(io);
    try {
      const { createSlackApp } = await import('../../slack/app.js');
      const bot = createSlackApp(app, { port, host: p.values.host ?? '127.0.0.1' });
      const started = await bot.start();
      io.stderr(
        started.mode === 'socket'
          ? 'loraloop Slack bot connected over Socket Mode. Ctrl-C stops it.\n'
          : `loraloop Slack bot listening on ${started.url} (point the app's Event Subscriptions, Interactivity and /cover Request URLs here). Ctrl-C stops it.\n`,
      );
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      io.stderr('stopping: finishing covers in progress...\n');
      await bot.stop();
      return EXIT_OK;
    } finally {
      await app.close();
    }
  },
};

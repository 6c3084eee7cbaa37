import { parseCommandArgs } from '../args.js';
import { EXIT_OK, EXIT_USAGE } from '../output.js';
import { openApp, type CliCommand } from '../command.js';

export const mcpCommand: CliCommand = {
  name: 'mcp',
  usage: 'mcp [--http PORT] [--host H] [--insecure-local]',
  summary: 'serve the tools over MCP (stdio, or Streamable HTTP at /mcp)',
  async run(args, io) {
    const p = parseCommandArgs(io, {
      args,
      options: {
        http: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        'insecure-local': { type: 'boolean', default: false },
        'allow-origin': { type: 'string', multiple: true },
      },
    });
    if (!p) return EXIT_USAGE;
    const app = await openApp(io);
    try {
      if (p.values.http === undefined) {
        const { serveStdio } = await import('../../mcp/stdio.js');
        await serveStdio(app);
        return EXIT_OK;
      }
      const port = Number(p.values.http.replace(/^:/, ''));
      if (!Number.isInteger(port) || port < 0 || port > 65535) {
        io.stderr(`error: --http takes a port number, got "${p.values.http}".\n`);
        return EXIT_USAGE;
      }
      const { serveHttp } = await import('../../mcp/http.js');
      const srv = await serveHttp(app, {
        port,
        host: p.values.host ?? '127.0.0.1',
        token: app.services.config.httpToken,
        insecureLocal: p.values['insecure-local'] ?? false,
        allowedOrigins: p.values['allow-origin'] ?? [],
      });
      io.stderr(`loraloop MCP listening on ${srv.url}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await srv.close();
      return EXIT_OK;
    } finally {
      await app.close();
    }
  },
};

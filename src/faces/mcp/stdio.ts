import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { App } from '../../app.js';
import { createMcpServer } from './server.js';

/** Serve MCP over stdio until the client closes stdin. stdout carries only protocol messages. */
export async function serveStdio(app: App): Promise<void> {
  const { server, cleanup } = createMcpServer(app);
  const transport = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    process.stdin.on('end', () => resolve());
  });
  await server.connect(transport);
  // A long-lived face follows training jobs (including ones a killed process left running).
  app.services.trainingRunner().start();
  app.services.logger.info('mcp stdio server ready');
  await closed;
  await cleanup();
}

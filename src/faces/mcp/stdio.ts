import { serveStdio as serveSdkStdio } from '@modelcontextprotocol/server/stdio';
import type { App } from '../../app.js';
import { createMcpFace } from './server.js';

/**
 * Serve MCP over stdio until the client closes stdin; the SDK's serving entry answers both protocol eras
 * (`initialize` and `server/discover`). stdout carries only protocol messages.
 */
export async function serveStdio(app: App): Promise<void> {
  const face = createMcpFace(app, { budgetMs: app.services.config.remote.callBudgetSeconds * 1000 });
  const closed = new Promise<void>((resolve) => {
    process.stdin.once('end', () => resolve());
    process.stdin.once('close', () => resolve());
  });
  const handle = serveSdkStdio(() => face.newServer(), { onerror: (e) => app.services.logger.debug('mcp stdio', { error: e.message }) });
  // A long-lived face follows training jobs (including ones a killed process left running).
  app.services.trainingRunner().start();
  app.services.logger.info('mcp stdio server ready');
  await closed;
  await handle.close();
}

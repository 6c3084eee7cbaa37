import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/client';
import type { App } from '../../src/app.js';
import { createMcpServer } from '../../src/faces/mcp/server.js';

/** A real MCP Client connected to the app's MCP server over InMemoryTransport (tool contract tests). */
export async function connectMcpClient(app: App, name = 'contract-test'): Promise<Client> {
  const { server } = createMcpServer(app);
  const [a, b] = InMemoryTransport.createLinkedPair();
  const client = new Client({ name, version: '1.0.0' });
  await Promise.all([server.connect(a), client.connect(b)]);
  return client;
}

import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { CallToolRequestSchema, ListToolsRequestSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import { z } from 'zod';
import type { App } from '../../app.js';
import type { CommandResult } from '../../core/result.js';
import type { ToolDefinition } from '../../tools/types.js';

export const SERVER_NAME = 'loraloop';
export const SERVER_VERSION = '0.1.0';

/** JSON Schema for a tool's input or output, as MCP clients expect it (an object schema). */
export function toolJsonSchema(schema: ToolDefinition['input'], io: 'input' | 'output'): Tool['inputSchema'] {
  const js = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete js.$schema;
  return { ...js, type: 'object' } as Tool['inputSchema'];
}

/** The MCP tool listing for the registry. Computed once: the list does not change while serving. */
export function listMcpTools(app: App): Tool[] {
  return app.tools.list().map((t) => ({
    name: t.name,
    title: t.title,
    description: t.description,
    inputSchema: toolJsonSchema(t.input, 'input'),
    outputSchema: toolJsonSchema(t.output, 'output') as Tool['outputSchema'],
    annotations: { title: t.title, ...t.annotations },
  }));
}

/** Longest side of the PNG preview sent as MCP image content; the full-size file path is in the text. */
const PREVIEW_MAX = 768;

/** Render a CommandResult as an MCP tool result: data -> structuredContent, reasoning -> text, images -> image content. */
export async function toMcpResult(result: CommandResult): Promise<CallToolResult> {
  if (!result.success) {
    const err = (result.data as { error?: { code?: string } }).error;
    return { isError: true, content: [{ type: 'text', text: `${result.reasoning}${err?.code ? ` (code ${err.code})` : ''}` }] };
  }
  const content: CallToolResult['content'] = [{ type: 'text', text: result.reasoning }];
  for (const a of result.artifacts ?? []) {
    if (a.kind !== 'image') continue;
    try {
      const preview = await sharp(await readFile(a.path))
        .resize(PREVIEW_MAX, PREVIEW_MAX, { fit: 'inside', withoutEnlargement: true })
        .png()
        .toBuffer();
      content.push({ type: 'image', data: preview.toString('base64'), mimeType: 'image/png' });
      content.push({ type: 'text', text: `Full-size file: ${a.path}` });
    } catch {
      content.push({ type: 'text', text: `Image file: ${a.path} (preview unavailable)` });
    }
  }
  return { content, structuredContent: result.data as Record<string, unknown> };
}

/**
 * Build an MCP server over the tool registry (a factory: no work at import time). The caller connects a
 * transport; `cleanup` closes the server but not the app, which may serve several sessions.
 */
export function createMcpServer(app: App): { server: Server; cleanup: () => Promise<void> } {
  const server = new Server(
    { name: SERVER_NAME, version: SERVER_VERSION },
    {
      capabilities: { tools: { listChanged: false } },
      instructions:
        'loraloop makes article covers with the right coin logo and manages brand LoRAs. Start with cover_route or cover_generate; long work (training, batches) returns a job id to poll.',
    },
  );
  const tools = listMcpTools(app);
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const token = req.params._meta?.progressToken;
    const log = app.services.logger.child({ face: 'mcp', tool: req.params.name });
    const ctx = {
      services: app.services,
      tools: app.tools,
      logger: log,
      signal: extra.signal,
      face: 'mcp' as const,
      progress: (p: { progress: number; total?: number; message?: string }) => {
        if (token === undefined) return;
        extra
          .sendNotification({ method: 'notifications/progress', params: { progressToken: token, ...p } })
          .catch(() => log.debug('progress notification dropped'));
      },
    };
    const result = await app.tools.execute(req.params.name, req.params.arguments ?? {}, ctx);
    return toMcpResult(result);
  });
  return { server, cleanup: () => server.close() };
}

import { ProtocolError, ProtocolErrorCode, ResourceNotFoundError, Server, type CallToolResult, type Tool } from '@modelcontextprotocol/server';
import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import type { App } from '../../app.js';
import { isLoraloopError } from '../../core/errors.js';
import { ARTIFACT_URI_TEMPLATE, createArtifactPublisher, type ArtifactPublisher } from '../../server/artifacts.js';
import { handoverOutputSchema, runWithinBudget } from '../../tools/handover.js';
import type { LinkSigner } from '../../core/links.js';
import type { AnyObjectSchema, ToolContext, ToolDefinition } from '../../tools/types.js';
import { COVER_STUDIO_TOOLS, COVER_STUDIO_URI, coverStudioToolMeta, createCoverStudio } from './apps/cover-studio.js';
import { monotonicProgress } from './progress.js';
import { toMcpResult } from './result.js';

export const SERVER_NAME = 'loraloop';
export const SERVER_VERSION = '0.2.0';

const INSTRUCTIONS =
  'loraloop makes article covers with the right coin logo and manages brand LoRAs. Start with cover_route or cover_generate. ' +
  'Long work (remote GPUs, batches, training, large datasets) answers {status: "running", job_id} when it runs past the call budget: follow it with job_status. ' +
  'Files come back as loraloop:// resource links (and signed download URLs over HTTP).';

/** What every tool's structured result carries besides its own data (so structured-only clients lose nothing). */
const envelope = {
  reasoning: z.string().describe('What was done and why, in words.'),
  next: z.string().optional().describe('The next step, when there is an obvious one.'),
  resources: z
    .array(
      z.object({
        uri: z.string().describe('loraloop:// URI (resources/read).'),
        url: z.string().nullable().describe('Signed download URL (HTTP face), valid for a limited time.'),
        name: z.string(),
        mime_type: z.string(),
        path: z.string().describe('Path on the server (local clients).'),
        bytes: z.number().nullable(),
        title: z.string().nullable(),
      }),
    )
    .optional()
    .describe('Files the tool made or named.'),
};

function objectJsonSchema(schema: AnyObjectSchema, io: 'input' | 'output'): Record<string, unknown> {
  const js = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  delete js.$schema;
  return js;
}

/** JSON Schema for a tool's input or output, as MCP clients expect it (an object schema). */
export function toolJsonSchema(schema: ToolDefinition['input'], io: 'input' | 'output'): Tool['inputSchema'] {
  return { ...objectJsonSchema(schema, io), type: 'object' } as Tool['inputSchema'];
}

/** A tool's published output: its data plus the envelope; for long tools, or the hand-over shape. */
export function outputJsonSchema(t: ToolDefinition): Tool['outputSchema'] {
  const own = objectJsonSchema(t.output.extend(envelope), 'output');
  if (!t.longRunning) return { ...own, type: 'object' } as Tool['outputSchema'];
  const running = objectJsonSchema(handoverOutputSchema.extend(envelope), 'output');
  return { type: 'object', anyOf: [own, running] } as Tool['outputSchema'];
}

/** The MCP tool listing for the registry. */
export function listMcpTools(app: App): Tool[] {
  return app.tools.list().map((t) => ({
    name: t.name,
    title: t.title,
    description: t.description,
    inputSchema: toolJsonSchema(t.input, 'input'),
    outputSchema: outputJsonSchema(t),
    annotations: { title: t.title, ...t.annotations },
    // The cover tools name their MCP Apps view; hosts without the extension ignore _meta.
    ...(COVER_STUDIO_TOOLS.has(t.name) ? { _meta: coverStudioToolMeta() } : {}),
  }));
}

export interface McpFaceOptions {
  /** Signs download links; present on the HTTP face, absent over stdio (clients there read paths). */
  links?: LinkSigner;
  /** No call holds the client longer than this (LORALOOP_CALL_BUDGET_S). */
  budgetMs: number;
}

/** Largest resource read inline; bigger files (LoRA weights) are fetched through their download URL. */
const MAX_INLINE_RESOURCE_BYTES = 16 * 1024 * 1024;
const TEXT_MIME = /^(text\/|application\/(json|toml|xml))/;

/** The MCP face over the app: one tool list, one publisher, and a factory of per-connection servers. */
export interface McpFace {
  newServer(): Server;
  publisher: ArtifactPublisher;
}

export function createMcpFace(app: App, o: McpFaceOptions): McpFace {
  const tools = listMcpTools(app);
  const s = app.services;
  const publisher = createArtifactPublisher(s.store.artifacts, s.store.blobs, o.links);
  const studio = createCoverStudio({ version: SERVER_VERSION, ...(o.links ? { publicBaseUrl: o.links.baseUrl } : {}) });
  const call = async (name: string, args: unknown, ctx: ToolContext): Promise<CallToolResult> => {
    const tool = app.tools.get(name);
    const run = (c: ToolContext) => app.tools.execute(name, args, c);
    const result = tool?.longRunning ? await runWithinBudget({ jobs: s.store.jobs, logger: ctx.logger }, run, tool.name, ctx, o.budgetMs) : await run({ ...ctx, deadline: Date.now() + o.budgetMs });
    return toMcpResult(result, publisher, ctx.logger);
  };
  const newServer = (): Server => {
    const server = new Server(
      { name: SERVER_NAME, version: SERVER_VERSION },
      { capabilities: { tools: { listChanged: false }, resources: { listChanged: false } }, instructions: INSTRUCTIONS },
    );
    server.setRequestHandler('tools/list', async () => ({ tools }));
    server.setRequestHandler('tools/call', async (req, extra) => {
      const token = req.params._meta?.progressToken;
      const log = s.logger.child({ face: 'mcp', tool: req.params.name });
      const send = monotonicProgress((p) => {
        if (token === undefined) return;
        extra.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, ...p } }).catch(() => log.debug('progress notification dropped'));
      });
      const ctx = app.context({ face: 'mcp', signal: extra.mcpReq.signal, logger: log, progress: send, ...(o.links ? { links: o.links } : {}) });
      return call(req.params.name, req.params.arguments ?? {}, ctx);
    });
    server.setRequestHandler('resources/list', async (req) => {
      const page = await publisher.list(100, req.params?.cursor);
      // The view is listed once, on the first page, ahead of the files.
      const views = req.params?.cursor ? [] : [studio.listing()];
      return {
        resources: [...views, ...page.items.map((p) => ({ uri: p.uri, name: p.name, mimeType: p.mime_type, ...(p.bytes !== null ? { size: p.bytes } : {}) }))],
        ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}),
      };
    });
    server.setRequestHandler('resources/templates/list', async () => ({
      resourceTemplates: [{ uriTemplate: ARTIFACT_URI_TEMPLATE, name: 'artifact', title: 'A file loraloop made or named', description: 'Covers, contact sheets, reports, dataset exports and LoRA weights, as tool results link them.' }],
    }));
    server.setRequestHandler('resources/read', async (req) => {
      if (req.params.uri === COVER_STUDIO_URI) return studio.read();
      let rec;
      try {
        rec = await publisher.resolve(req.params.uri);
      } catch (e) {
        throw new ResourceNotFoundError(req.params.uri, isLoraloopError(e) ? e.message : String(e));
      }
      // A blob is read by hash (its recorded path is the publishing host's); a missing one is gone, like a missing file.
      const file = await publisher.localFile(rec).catch((e: unknown) => {
        if (isLoraloopError(e) && e.code === 'NOT_FOUND') return undefined;
        throw e;
      });
      const size = file ? await stat(file).then((st) => (st.isFile() ? st.size : undefined), () => undefined) : undefined;
      if (!file || size === undefined) throw new ResourceNotFoundError(req.params.uri, `The file behind ${req.params.uri} is gone from the server.`);
      // Checked before reading: LoRA weights can be hundreds of MB.
      if (size > MAX_INLINE_RESOURCE_BYTES) {
        const p = await publisher.publish({ kind: 'file', path: rec.path, mime_type: rec.mime_type, ...(rec.blob_sha256 ? { sha256: rec.blob_sha256 } : {}) });
        throw new ProtocolError(ProtocolErrorCode.InvalidParams, `${rec.name} is ${(size / 1048576).toFixed(0)} MB, too large to read inline; ${p.url ? `download it from ${p.url}` : `read it at ${p.path}`}.`);
      }
      const bytes = await readFile(file);
      const uri = req.params.uri;
      return {
        contents: [TEXT_MIME.test(rec.mime_type) ? { uri, mimeType: rec.mime_type, text: bytes.toString('utf8') } : { uri, mimeType: rec.mime_type, blob: bytes.toString('base64') }],
      };
    });
    return server;
  };
  return { newServer, publisher };
}

/** One server over the app (in-process clients and tests); the caller connects a transport. */
export function createMcpServer(app: App, o?: Partial<McpFaceOptions>): { server: Server; cleanup: () => Promise<void> } {
  const face = createMcpFace(app, { budgetMs: app.services.config.remote.callBudgetSeconds * 1000, ...o });
  const server = face.newServer();
  return { server, cleanup: () => server.close() };
}

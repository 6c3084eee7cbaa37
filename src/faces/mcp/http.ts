import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { timingSafeEqual, createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { App } from '../../app.js';
import { LoraloopError } from '../../core/errors.js';
import { handleReplicateWebhook } from '../../lora/backends/replicate-trainer.js';
import { createMcpServer } from './server.js';

/** Where Replicate posts training webhooks (set LORALOOP_REPLICATE_WEBHOOK_URL to this path on a public URL). */
export const REPLICATE_WEBHOOK_PATH = '/webhooks/replicate';

export interface HttpOptions {
  port: number;
  host: string;
  token: string | undefined;
  /** Serve without a token; only allowed on a loopback address. */
  insecureLocal: boolean;
  /** Extra browser origins allowed to call (besides loopback origins). */
  allowedOrigins?: string[];
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || (isIP(host) === 4 && host.startsWith('127.'));
}

/** Refuse unsafe combinations before binding anything. */
export function checkHttpOptions(o: HttpOptions): void {
  if (!o.token) {
    if (!isLoopback(o.host)) {
      throw new LoraloopError('CONFIG_INVALID', `Refusing to serve MCP over HTTP on ${o.host} without a token.`, {
        hint: 'Set LORALOOP_HTTP_TOKEN (clients send it as "Authorization: Bearer <token>").',
      });
    }
    if (!o.insecureLocal) {
      throw new LoraloopError('CONFIG_INVALID', 'Refusing to serve MCP over HTTP without LORALOOP_HTTP_TOKEN.', {
        hint: 'Set LORALOOP_HTTP_TOKEN, or pass --insecure-local to serve on loopback without a token.',
      });
    }
  }
}

function sameSecret(given: string, expected: string): boolean {
  // Hash both so the comparison is constant-time regardless of length.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

function originAllowed(origin: string, allowed: string[]): boolean {
  try {
    const u = new URL(origin);
    if (allowed.includes(u.origin)) return true;
    return isLoopback(u.hostname.replace(/^\[|\]$/g, ''));
  } catch {
    return false;
  }
}

function jsonError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message }, id: null }));
}

async function readBody(req: IncomingMessage, limit = 4 * 1024 * 1024): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new LoraloopError('INVALID_INPUT', 'Request body too large.');
    chunks.push(c as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : undefined;
}

/**
 * MCP over Streamable HTTP at /mcp, stateless: each POST gets its own server and transport, so there is no
 * session state to lose, and progress notifications stream back on that POST's SSE response.
 */
export async function serveHttp(app: App, o: HttpOptions): Promise<{ server: HttpServer; url: string; close(): Promise<void> }> {
  checkHttpOptions(o);
  const log = app.services.logger.child({ face: 'mcp-http' });
  const allowed = o.allowedOrigins ?? [];
  const http = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (url.pathname === REPLICATE_WEBHOOK_PATH && req.method === 'POST') {
        // Authenticated by its signature (verified on the raw bytes), not by the bearer token.
        const chunks: Buffer[] = [];
        for await (const c of req) chunks.push(c as Buffer);
        const answer = await handleReplicateWebhook(app.services, Buffer.concat(chunks), req.headers as Record<string, string>);
        res.writeHead(answer.status, { 'content-type': 'text/plain' });
        res.end(answer.body);
        return;
      }
      if (url.pathname !== '/mcp') return jsonError(res, 404, 'Not found: the MCP endpoint is /mcp.');
      const origin = req.headers.origin;
      if (origin && !originAllowed(origin, allowed)) {
        log.warn('refused origin', { origin });
        return jsonError(res, 403, `Origin ${origin} is not allowed.`);
      }
      if (o.token) {
        const auth = req.headers.authorization ?? '';
        const m = /^Bearer\s+(.+)$/i.exec(auth);
        if (!m || !sameSecret(m[1]!.trim(), o.token)) {
          return jsonError(res, 401, 'Missing or wrong bearer token.', { 'www-authenticate': 'Bearer realm="loraloop"' });
        }
      }
      if (req.method !== 'POST') {
        // Stateless server: no standalone SSE stream and no sessions to delete.
        return jsonError(res, 405, 'Method not allowed: send JSON-RPC with POST.', { allow: 'POST' });
      }
      let body: unknown;
      try {
        body = await readBody(req);
      } catch (e) {
        return jsonError(res, 400, `Bad request body: ${(e as Error).message}`);
      }
      const { server, cleanup } = createMcpServer(app);
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
      res.on('close', () => {
        void transport.close();
        void cleanup();
      });
      await server.connect(transport);
      await transport.handleRequest(req, res, body);
    })().catch((e: unknown) => {
      log.error('http request failed', { error: (e as Error).message });
      if (!res.headersSent) jsonError(res, 500, 'Internal error.');
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.port, o.host, () => resolve());
  });
  const addr = http.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const hostForUrl = o.host.includes(':') ? `[${o.host}]` : o.host;
  const url = `http://${hostForUrl}:${port}/mcp`;
  app.services.trainingRunner().start();
  log.info('mcp http server ready', { url, auth: o.token ? 'bearer' : 'none (insecure-local)' });
  return {
    server: http,
    url,
    close: () => new Promise<void>((resolve) => http.close(() => resolve())),
  };
}

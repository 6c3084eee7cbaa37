import { toNodeHandler } from '@modelcontextprotocol/node';
import { createMcpHandler } from '@modelcontextprotocol/server';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { isIP } from 'node:net';
import type { App } from '../../app.js';
import { LoraloopError } from '../../core/errors.js';
import { handleReplicateWebhook } from '../../lora/backends/replicate-trainer.js';
import { createEmbeddedAuth, MCP_SCOPE, OAUTH_PREFIX, CONSENT_PREFIX, type EmbeddedAuth } from '../../server/auth/embedded.js';
import { createExternalIssuer } from '../../server/auth/external.js';
import { createAuthGate, type AuthGate } from '../../server/auth/gate.js';
import { createLinkSigner, type LinkSigner } from '../../core/links.js';
import { DOWNLOAD_PREFIX } from '../../server/artifacts.js';
import { UPLOAD_PREFIX } from '../../dataset/uploads.js';
import { serveConsent, serveDownload, serveUpload } from './http-routes.js';
import { createMcpFace } from './server.js';

/** Where Replicate posts training webhooks (set LORALOOP_REPLICATE_WEBHOOK_URL to this path on a public URL). */
export const REPLICATE_WEBHOOK_PATH = '/webhooks/replicate';
export const MCP_PATH = '/mcp';
const PRM_PATH = '/.well-known/oauth-protected-resource';

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
export function checkHttpOptions(o: HttpOptions, externalIssuer: string | undefined): void {
  if (o.token || externalIssuer) return;
  if (!isLoopback(o.host)) {
    throw new LoraloopError('CONFIG_INVALID', `Refusing to serve MCP over HTTP on ${o.host} without a token.`, {
      hint: 'Set LORALOOP_HTTP_TOKEN (it also unlocks the OAuth consent page for claude.ai and ChatGPT connectors), or LORALOOP_OAUTH_ISSUER.',
    });
  }
  if (!o.insecureLocal) {
    throw new LoraloopError('CONFIG_INVALID', 'Refusing to serve MCP over HTTP without LORALOOP_HTTP_TOKEN.', {
      hint: 'Set LORALOOP_HTTP_TOKEN, or pass --insecure-local to serve on loopback without a token.',
    });
  }
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

export function jsonError(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message }, id: null }));
}

function json(res: ServerResponse, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(200, { 'content-type': 'application/json', 'access-control-allow-origin': '*', 'cache-control': 'public, max-age=300', ...headers });
  res.end(JSON.stringify(body));
}

/** The signing key of download/upload links is per installation, so links survive a restart. */
async function linkKey(app: App): Promise<Buffer> {
  const kv = app.services.store.kv;
  let k = await kv.get<string>('links.key');
  if (!k) {
    k = randomBytes(32).toString('base64url');
    await kv.set('links.key', k);
  }
  return Buffer.from(k, 'base64url');
}

export interface HttpFace {
  server: HttpServer;
  /** The MCP endpoint as bound (http://host:port/mcp). */
  url: string;
  /** The externally visible base URL (LORALOOP_PUBLIC_URL, else the bound address). */
  baseUrl: string;
  links: LinkSigner;
  close(): Promise<void>;
}

/**
 * The HTTP face: MCP at /mcp for both protocol eras (the SDK's createMcpHandler: 2025-11-25 `initialize` and
 * 2026-07-28 stateless requests), OAuth 2.1 around it (RFC 9728 metadata, the embedded authorization server or
 * an external issuer, the static token), signed downloads and uploads, and the Replicate webhook.
 */
export async function serveHttp(app: App, o: HttpOptions): Promise<HttpFace> {
  const cfg = app.services.config.remote;
  checkHttpOptions(o, cfg.oauthIssuer);
  const log = app.services.logger.child({ face: 'mcp-http' });
  const allowed = o.allowedOrigins ?? [];
  // Bound first: with port 0 the base URL (issuer, resource, links) is known only once listening.
  const http = createServer();
  // Longer than the idle timeout of common proxies and clients (60 s), so a reused connection is not closed
  // under a request in flight (Node's default is 5 s).
  http.keepAliveTimeout = 65_000;
  http.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(o.port, o.host, () => resolve());
  });
  const addr = http.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const hostForUrl = o.host.includes(':') ? `[${o.host}]` : o.host;
  const bound = `http://${hostForUrl}:${port}`;
  const baseUrl = cfg.publicUrl ?? bound;
  const resource = `${baseUrl}${MCP_PATH}`;
  const prmUrl = `${baseUrl}${PRM_PATH}${MCP_PATH}`;
  const links = createLinkSigner({ baseUrl, key: await linkKey(app), ttlSeconds: cfg.linkTtlSeconds, now: app.services.now });

  let embedded: EmbeddedAuth | undefined;
  let gate: AuthGate | undefined;
  let issuer: string | undefined;
  try {
    if (cfg.oauthIssuer) {
      const external = await createExternalIssuer(cfg.oauthIssuer, cfg.oauthAudience ?? resource, app.services.fetch);
      issuer = external.issuer;
      gate = createAuthGate({ staticToken: o.token, external, resource });
    } else if (o.token) {
      embedded = await createEmbeddedAuth({ records: app.services.store.oauth, kv: app.services.store.kv, logger: log, fetch: app.services.fetch }, { issuer: baseUrl, resource });
      issuer = baseUrl;
      gate = createAuthGate({ staticToken: o.token, embedded, resource });
    }
  } catch (e) {
    http.close();
    throw e;
  }

  const face = createMcpFace(app, { links, budgetMs: cfg.callBudgetSeconds * 1000 });
  const handler = createMcpHandler(() => face.newServer(), { legacy: 'stateless', onerror: (e) => log.debug('mcp handler', { error: e.message }) });
  const mcp = toNodeHandler(handler, { onerror: (e) => log.error('mcp request failed', { error: e.message }) });
  const challenge = (presented: boolean) => ({
    'www-authenticate': `Bearer resource_metadata="${prmUrl}", scope="${MCP_SCOPE}"${presented ? ', error="invalid_token", error_description="The access token is missing, expired, revoked, or not for this server."' : ''}`,
  });

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://x');
    const path = url.pathname;
    if (path === REPLICATE_WEBHOOK_PATH && req.method === 'POST') {
      // Authenticated by its signature (verified on the raw bytes), not by the bearer token.
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const answer = await handleReplicateWebhook(app.services, Buffer.concat(chunks), req.headers as Record<string, string>);
      res.writeHead(answer.status, { 'content-type': 'text/plain' });
      res.end(answer.body);
      return;
    }
    if (path === PRM_PATH || path === `${PRM_PATH}${MCP_PATH}`) {
      if (!issuer) return jsonError(res, 404, 'This server has no OAuth: it runs without a token on loopback.');
      return json(res, { resource, authorization_servers: [issuer], scopes_supported: [MCP_SCOPE], bearer_methods_supported: ['header'], resource_name: 'loraloop' });
    }
    if (path.startsWith(DOWNLOAD_PREFIX)) return serveDownload(app, links, req, res, url);
    if (path.startsWith(UPLOAD_PREFIX)) return serveUpload(app, links, req, res, url);
    if (embedded) {
      if (path === '/.well-known/oauth-authorization-server' || path === '/.well-known/openid-configuration') {
        req.url = '/.well-known/openid-configuration';
        return embedded.handle(req, res);
      }
      if (path.startsWith(`${OAUTH_PREFIX}/`)) return embedded.handle(req, res);
      if (path.startsWith(CONSENT_PREFIX)) return serveConsent(embedded, gate!, req, res, path);
    }
    if (path !== MCP_PATH) return jsonError(res, 404, `Not found: the MCP endpoint is ${MCP_PATH}.`);
    const origin = req.headers.origin;
    if (origin && !originAllowed(origin, allowed)) {
      log.warn('refused origin', { origin });
      return jsonError(res, 403, `Origin ${origin} is not allowed.`);
    }
    if (gate) {
      const principal = await gate.check(req.headers.authorization);
      if (!principal) return jsonError(res, 401, 'Missing, expired, revoked or wrong bearer token.', challenge(!!req.headers.authorization));
      (req as IncomingMessage & { auth?: unknown }).auth = {
        token: principal.token,
        clientId: principal.clientId,
        scopes: principal.scopes,
        ...(principal.expiresAt ? { expiresAt: principal.expiresAt } : {}),
        ...(principal.resource ? { resource: principal.resource } : {}),
      };
    }
    await mcp(req, res);
  };
  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    route(req, res).catch((e: unknown) => {
      log.error('http request failed', { error: (e as Error).message });
      if (!res.headersSent) jsonError(res, 500, 'Internal error.');
      else res.end();
    });
  });
  app.services.trainingRunner().start();
  log.info('mcp http server ready', { url: `${bound}${MCP_PATH}`, public: baseUrl, auth: cfg.oauthIssuer ? 'external oauth + token' : o.token ? 'oauth + token' : 'none (insecure-local)' });
  return {
    server: http,
    url: `${bound}${MCP_PATH}`,
    baseUrl,
    links,
    close: async () => {
      await handler.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
    },
  };
}

import { auth, Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { serveHttp, type HttpFace } from '../../src/faces/mcp/http.js';
import { allTools } from '../../src/all-tools.js';
import { approveInBrowser, callbackUrl, launchBrowser, MemoryOAuthProvider } from '../support/oauth.js';

const TOKEN = 'operator-secret-for-more-tests';
let browser: Awaited<ReturnType<typeof launchBrowser>>;
const homes: string[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  for (const h of homes) rmSync(h, { recursive: true, force: true });
});

function openApp(home: string, env: Record<string, string>, fetchImpl?: typeof fetch): App {
  const config = loadConfig({ LORALOOP_HOME: home, LORALOOP_ALLOWED_ROOTS: home, ...env }, home);
  return createApp(config, allTools(), { logger: createLogger({ level: process.env.LORALOOP_TEST_LOGS ? 'debug' : 'silent' }), ...(fetchImpl ? { fetch: fetchImpl } : {}) });
}

function newHome(): string {
  const h = mkdtempSync(join(tmpdir(), 'loraloop-oauth-more-'));
  homes.push(h);
  return h;
}

async function status(url: string, token: string): Promise<number> {
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}` },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
  });
  return r.status;
}

async function signIn(p: MemoryOAuthProvider, serverUrl: string): Promise<void> {
  expect(await auth(p, { serverUrl })).toBe('REDIRECT');
  const { callback } = await approveInBrowser(browser.browser, p.authorizationUrl!, TOKEN, callbackUrl());
  const iss = callback.searchParams.get('iss') ?? undefined;
  expect(await auth(p, { serverUrl, authorizationCode: callback.searchParams.get('code')!, ...(iss ? { iss } : {}) })).toBe('AUTHORIZED');
}

describe('the embedded authorization server keeps its state in the store', () => {
  it('a restart keeps registered clients, grants and tokens: the old access token works and refresh goes on', async () => {
    const home = newHome();
    let app = openApp(home, { LORALOOP_HTTP_TOKEN: TOKEN });
    let face: HttpFace = await serveHttp(app, { port: 0, host: '127.0.0.1', token: TOKEN, insecureLocal: false });
    const port = Number(new URL(face.url).port);
    const p = new MemoryOAuthProvider(callbackUrl());
    await signIn(p, face.url);
    const before = p.saved!;
    await face.close();
    await app.close();

    app = openApp(home, { LORALOOP_HTTP_TOKEN: TOKEN });
    face = await serveHttp(app, { port, host: '127.0.0.1', token: TOKEN, insecureLocal: false });
    try {
      expect(await status(face.url, before.access_token)).toBe(200);
      expect(await auth(p, { serverUrl: face.url })).toBe('AUTHORIZED');
      expect(p.saved!.refresh_token).not.toBe(before.refresh_token);
      const client = new Client({ name: 'after-restart', version: '1' });
      await client.connect(new StreamableHTTPClientTransport(new URL(face.url), { authProvider: p }));
      expect((await client.listTools()).tools.length).toBeGreaterThan(30);
      await client.close();
    } finally {
      await face.close();
      await app.close();
    }
  }, 60_000);

  it('takes a client identified by a Client ID Metadata Document (an https client_id) instead of registration', async () => {
    const home = newHome();
    const cimdUrl = 'https://connector.example/oauth/client.json';
    // The document is served from "the internet": here, this fetch answers for that one https URL.
    const fetchImpl: typeof fetch = async (input, init) => {
      const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
      if (url === cimdUrl) {
        return new Response(
          JSON.stringify({ client_id: cimdUrl, client_name: 'Example connector', redirect_uris: [callbackUrl()], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' }),
          { headers: { 'content-type': 'application/json' } },
        );
      }
      return fetch(input, init);
    };
    const app = openApp(home, { LORALOOP_HTTP_TOKEN: TOKEN }, fetchImpl);
    const face = await serveHttp(app, { port: 0, host: '127.0.0.1', token: TOKEN, insecureLocal: false });
    try {
      const p = new MemoryOAuthProvider(callbackUrl(), 'Example connector', cimdUrl);
      await signIn(p, face.url);
      expect(p.info?.client_id).toBe(cimdUrl);
      expect(await status(face.url, p.saved!.access_token)).toBe(200);
      // No registration happened: the store holds no dynamically registered client.
      expect(await app.services.store.oauth.find('Client', cimdUrl)).toBeUndefined();
    } finally {
      await face.close();
      await app.close();
    }
  }, 60_000);

  it('refuses a redirect URI that is not exactly a registered one', async () => {
    const home = newHome();
    const app = openApp(home, { LORALOOP_HTTP_TOKEN: TOKEN });
    const face = await serveHttp(app, { port: 0, host: '127.0.0.1', token: TOKEN, insecureLocal: false });
    try {
      const p = new MemoryOAuthProvider(callbackUrl());
      expect(await auth(p, { serverUrl: face.url })).toBe('REDIRECT');
      const u = new URL(p.authorizationUrl!);
      u.searchParams.set('redirect_uri', `${callbackUrl()}/../evil`);
      const r = await fetch(u, { redirect: 'manual' });
      expect(r.status).toBe(400);
      expect(await r.text()).toMatch(/redirect_uri/);
    } finally {
      await face.close();
      await app.close();
    }
  }, 30_000);
});

describe('an external identity provider (LORALOOP_OAUTH_ISSUER)', () => {
  let idp: Server;
  let issuer = '';
  let key: CryptoKey;
  beforeAll(async () => {
    const pair = await generateKeyPair('ES256');
    key = pair.privateKey;
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    idp = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/oauth-authorization-server') return res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/jwks`, authorization_endpoint: `${issuer}/authorize`, token_endpoint: `${issuer}/token` }));
      if (req.url === '/jwks') return res.end(JSON.stringify({ keys: [jwk] }));
      res.statusCode = 404;
      res.end('{}');
    });
    await new Promise<void>((r) => idp.listen(0, '127.0.0.1', () => r()));
    issuer = `http://127.0.0.1:${(idp.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => idp.close(() => r())));

  const sign = (claims: Record<string, unknown>, k: CryptoKey = key, exp = '5m') =>
    new SignJWT({ scope: 'mcp', client_id: 'idp-client', ...claims }).setProtectedHeader({ alg: 'ES256', kid: 'k1' }).setIssuer(issuer).setIssuedAt().setExpirationTime(exp).sign(k);

  it('advertises the issuer, accepts its tokens for this resource, refuses another audience, an expired token and a foreign key', async () => {
    const home = newHome();
    const app = openApp(home, { LORALOOP_OAUTH_ISSUER: issuer });
    const face = await serveHttp(app, { port: 0, host: '127.0.0.1', token: undefined, insecureLocal: false });
    try {
      const prm = (await (await fetch(`${face.baseUrl}/.well-known/oauth-protected-resource/mcp`)).json()) as { authorization_servers: string[] };
      expect(prm.authorization_servers).toEqual([issuer]);
      expect((await fetch(`${face.baseUrl}/.well-known/oauth-authorization-server`)).status).toBe(404);
      const resource = `${face.baseUrl}/mcp`;
      expect(await status(face.url, await sign({ aud: resource }))).toBe(200);
      expect(await status(face.url, await sign({ aud: 'https://other.example/mcp' }))).toBe(401);
      expect(await status(face.url, await sign({ aud: resource }, key, Math.floor(Date.now() / 1000) - 60 as unknown as string))).toBe(401);
      const stranger = await generateKeyPair('ES256');
      expect(await status(face.url, await sign({ aud: resource }, stranger.privateKey))).toBe(401);
    } finally {
      await face.close();
      await app.close();
    }
  }, 30_000);
});

describe('behind a TLS proxy (LORALOOP_PUBLIC_URL)', () => {
  it('uses the public URL as issuer, resource and link base, not the bound address', async () => {
    const home = newHome();
    const app = openApp(home, { LORALOOP_HTTP_TOKEN: TOKEN, LORALOOP_PUBLIC_URL: 'https://loraloop.example.com/' });
    const face = await serveHttp(app, { port: 0, host: '127.0.0.1', token: TOKEN, insecureLocal: false });
    try {
      expect(face.baseUrl).toBe('https://loraloop.example.com');
      const bound = new URL(face.url).origin;
      const prm = (await (await fetch(`${bound}/.well-known/oauth-protected-resource/mcp`)).json()) as { resource: string; authorization_servers: string[] };
      expect(prm).toMatchObject({ resource: 'https://loraloop.example.com/mcp', authorization_servers: ['https://loraloop.example.com'] });
      // The proxy forwards the original scheme and host; the metadata then speaks of the public URL.
      const as = (await (await fetch(`${bound}/.well-known/oauth-authorization-server`, { headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'loraloop.example.com' } })).json()) as Record<string, string>;
      expect(as.issuer).toBe('https://loraloop.example.com');
      expect(as.token_endpoint).toBe('https://loraloop.example.com/oauth/token');
      const r = await fetch(face.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
      expect(r.headers.get('www-authenticate')).toContain('resource_metadata="https://loraloop.example.com/.well-known/oauth-protected-resource/mcp"');
      expect(face.links.sign('/files/x/y.png')).toMatch(/^https:\/\/loraloop\.example\.com\/files\/x\/y\.png\?exp=\d+&sig=/);
    } finally {
      await face.close();
      await app.close();
    }
  }, 30_000);
});

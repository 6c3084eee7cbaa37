import { auth, Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveHttp, type HttpFace } from '../../src/faces/mcp/http.js';
import { makeTestApp } from '../support/app.js';
import { approveInBrowser, callbackUrl, launchBrowser, MemoryOAuthProvider } from '../support/oauth.js';

const TOKEN = 'operator-secret-7f3a9c2e51';
type Started = Awaited<ReturnType<typeof launchBrowser>>;

/** A controllable clock for the store (token expiry is checked against it). */
let offsetMs = 0;
const now = () => new Date(Date.now() + offsetMs);

let t: ReturnType<typeof makeTestApp>;
let face: HttpFace;
let browser: Started;
const provider = () => new MemoryOAuthProvider(callbackUrl());

beforeAll(async () => {
  t = makeTestApp({ LORALOOP_HTTP_TOKEN: TOKEN }, { now });
  face = await serveHttp(t.app, { port: 0, host: '127.0.0.1', token: TOKEN, insecureLocal: false });
  browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await face?.close();
  await t?.dispose();
});

async function connect(p: MemoryOAuthProvider, url = face.url): Promise<Client> {
  const client = new Client({ name: 'oauth-test', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: p }));
  return client;
}

/** The whole connector flow as claude.ai or ChatGPT runs it: discovery, registration, consent, code exchange. */
async function signIn(p: MemoryOAuthProvider, wrongFirst = false): Promise<string | null> {
  expect(await auth(p, { serverUrl: face.url })).toBe('REDIRECT');
  const { callback, wrongTokenMessage } = await approveInBrowser(browser.browser, p.authorizationUrl!, TOKEN, callbackUrl(), wrongFirst);
  const code = callback.searchParams.get('code');
  expect(code, callback.href).toBeTruthy();
  const iss = callback.searchParams.get('iss') ?? undefined;
  expect(await auth(p, { serverUrl: face.url, authorizationCode: code!, ...(iss ? { iss } : {}) })).toBe('AUTHORIZED');
  return wrongTokenMessage;
}

async function post(token: string | undefined, url = face.url) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } } }),
  });
}

describe('the HTTP face as an OAuth 2.1 protected resource', () => {
  it('publishes RFC 9728 metadata (both paths) and RFC 8414 metadata with PKCE S256, registration and CIMD', async () => {
    const base = face.baseUrl;
    for (const path of ['/.well-known/oauth-protected-resource/mcp', '/.well-known/oauth-protected-resource']) {
      const prm = (await (await fetch(`${base}${path}`)).json()) as Record<string, unknown>;
      expect(prm).toMatchObject({ resource: `${base}/mcp`, authorization_servers: [base], scopes_supported: ['mcp'] });
    }
    const as = (await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json()) as Record<string, unknown>;
    expect(as.issuer).toBe(base);
    expect(as.code_challenge_methods_supported).toEqual(['S256']);
    expect(as.registration_endpoint).toBe(`${base}/oauth/register`);
    expect(as.revocation_endpoint).toBe(`${base}/oauth/revoke`);
    expect(as.client_id_metadata_document_supported).toBe(true);
  });

  it('answers 401 with a resource_metadata challenge to no token and to a made-up one, and runs nothing', async () => {
    for (const tok of [undefined, 'made-up-token-123']) {
      const r = await post(tok);
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toContain(`resource_metadata="${face.baseUrl}/.well-known/oauth-protected-resource/mcp"`);
    }
  });

  it('completes registration, consent in Chromium and the code exchange with the SDK client, then calls tools', async () => {
    const p = provider();
    const wrong = await signIn(p, true);
    expect(wrong).toMatch(/not this server/);
    expect(p.info?.client_id).toBeTruthy();
    expect(p.saved?.refresh_token).toBeTruthy();
    const client = await connect(p);
    const r = await client.callTool({ name: 'cover_route', arguments: { title: 'Solana ETF inflows hit $1B' } });
    expect((r.structuredContent as { coins: Array<{ symbol: string }> }).coins[0]!.symbol).toBe('SOL');
    await client.close();
  }, 60_000);

  it('refreshes with rotation: the new access token works, the old refresh token is refused', async () => {
    const p = provider();
    await signIn(p);
    const first = p.saved!;
    // auth() with a refresh token and no code refreshes.
    expect(await auth(p, { serverUrl: face.url })).toBe('AUTHORIZED');
    const second = p.saved!;
    expect(second.access_token).not.toBe(first.access_token);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await post(second.access_token)).status).toBe(200);
    const reuse = await fetch(`${face.baseUrl}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: first.refresh_token!, client_id: p.info!.client_id }),
    });
    expect(reuse.status).toBe(400);
    expect(((await reuse.json()) as { error: string }).error).toBe('invalid_grant');
  }, 60_000);

  it('refuses a revoked token and an expired one', async () => {
    const p = provider();
    await signIn(p);
    const token = p.saved!.access_token;
    expect((await post(token)).status).toBe(200);
    const rev = await fetch(`${face.baseUrl}/oauth/revoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, client_id: p.info!.client_id }),
    });
    expect(rev.status).toBe(200);
    expect((await post(token)).status).toBe(401);

    const q = provider();
    await signIn(q);
    expect((await post(q.saved!.access_token)).status).toBe(200);
    offsetMs = 16 * 60 * 1000; // past the 15-minute access token lifetime
    try {
      expect((await post(q.saved!.access_token)).status).toBe(401);
    } finally {
      offsetMs = 0;
    }
  }, 60_000);

  it('refuses a token issued for another resource (another loraloop server sharing the store)', async () => {
    const other = await serveHttp(t.app, { port: 0, host: '127.0.0.1', token: TOKEN, insecureLocal: false });
    try {
      const p = new MemoryOAuthProvider(callbackUrl());
      expect(await auth(p, { serverUrl: other.url })).toBe('REDIRECT');
      const { callback } = await approveInBrowser(browser.browser, p.authorizationUrl!, TOKEN, callbackUrl());
      const iss = callback.searchParams.get('iss') ?? undefined;
      expect(await auth(p, { serverUrl: other.url, authorizationCode: callback.searchParams.get('code')!, ...(iss ? { iss } : {}) })).toBe('AUTHORIZED');
      expect((await post(p.saved!.access_token, other.url)).status).toBe(200);
      expect((await post(p.saved!.access_token, face.url)).status).toBe(401);
    } finally {
      await other.close();
    }
  }, 60_000);

  it('keeps taking the static LORALOOP_HTTP_TOKEN (Claude Code, the Inspector, scripts)', async () => {
    const client = new Client({ name: 'static', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(face.url), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
    const r = await client.callTool({ name: 'cover_route', arguments: { title: 'Dogecoin rallies' } });
    expect((r.structuredContent as { coins: Array<{ symbol: string }> }).coins[0]!.symbol).toBe('DOGE');
    await client.close();
  });
});

import type { OAuthClientMetadata, OAuthClientProvider, StoredOAuthClientInformation, StoredOAuthTokens } from '@modelcontextprotocol/client';
import { createServer, type Server } from 'node:http';
import { chromium, type BrowserContext } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** An OAuth client as an MCP host keeps one: registration, PKCE verifier and tokens in memory. */
export class MemoryOAuthProvider implements OAuthClientProvider {
  info: StoredOAuthClientInformation | undefined;
  saved: StoredOAuthTokens | undefined;
  verifier = '';
  authorizationUrl: URL | undefined;
  constructor(
    readonly redirect: string,
    readonly name = 'loraloop test connector',
    readonly clientMetadataUrl?: string,
  ) {}
  get redirectUrl() {
    return this.redirect;
  }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: this.name, redirect_uris: [this.redirect], grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none' };
  }
  clientInformation() {
    return this.info;
  }
  saveClientInformation(i: StoredOAuthClientInformation) {
    this.info = i;
  }
  tokens() {
    return this.saved;
  }
  saveTokens(t: StoredOAuthTokens) {
    this.saved = t;
  }
  redirectToAuthorization(u: URL) {
    this.authorizationUrl = u;
  }
  saveCodeVerifier(v: string) {
    this.verifier = v;
  }
  codeVerifier() {
    return this.verifier;
  }
}

/** Where the browser lands after consent: records the code and answers a plain page. */
export async function startCallbackServer(): Promise<{ url: string; next: () => Promise<URL>; close: () => Promise<void> }> {
  let waiting: ((u: URL) => void) | undefined;
  const seen: URL[] = [];
  const srv: Server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://127.0.0.1');
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('You can close this window.');
    if (u.pathname !== '/callback') return; // the browser also asks for /favicon.ico
    if (waiting) {
      waiting(u);
      waiting = undefined;
    } else seen.push(u);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/callback`,
    next: () => (seen.length ? Promise.resolve(seen.shift()!) : new Promise<URL>((r) => (waiting = r))),
    close: () => new Promise<void>((r) => srv.close(() => r())),
  };
}

/** Headless Chromium as the operator's browser. */
export async function launchBrowser(): Promise<{ browser: BrowserContext; close: () => Promise<void> }> {
  const profile = mkdtempSync(join(tmpdir(), 'loraloop-oauth-chromium-'));
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Open the authorization URL, type the operator token on the consent page, approve; returns the callback URL. */
export async function approveInBrowser(browser: BrowserContext, authorizationUrl: URL, token: string, callback: { next: () => Promise<URL> }, wrongFirst = false): Promise<{ callback: URL; wrongTokenMessage: string | null }> {
  const page = await browser.newPage();
  try {
    await page.goto(authorizationUrl.href);
    let wrongTokenMessage: string | null = null;
    if (wrongFirst) {
      await page.getByLabel('Operator token (LORALOOP_HTTP_TOKEN)').fill('not-the-token');
      await page.getByRole('button', { name: 'Approve' }).click();
      wrongTokenMessage = await page.getByRole('alert').textContent();
    }
    const landed = callback.next();
    await page.getByLabel('Operator token (LORALOOP_HTTP_TOKEN)').fill(token);
    await page.getByRole('button', { name: 'Approve' }).click();
    return { callback: await landed, wrongTokenMessage };
  } finally {
    await page.close();
  }
}

import type { OAuthClientMetadata, OAuthClientProvider, StoredOAuthClientInformation, StoredOAuthTokens } from '@modelcontextprotocol/client';
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

/**
 * Where the browser lands after consent. Nothing listens there: the browser page intercepts the navigation
 * (page.route), records the URL with the code and answers a plain page, so no second server can race it.
 */
export function callbackUrl(): string {
  return 'http://127.0.0.1:9/callback';
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
export async function approveInBrowser(browser: BrowserContext, authorizationUrl: URL, token: string, redirect: string, wrongFirst = false): Promise<{ callback: URL; wrongTokenMessage: string | null }> {
  const page = await browser.newPage();
  try {
    let landed!: (u: URL) => void;
    const arrived = new Promise<URL>((r) => (landed = r));
    await page.route(`${redirect}**`, async (route) => {
      landed(new URL(route.request().url()));
      await route.fulfill({ status: 200, contentType: 'text/plain', body: 'You can close this window.' });
    });
    await page.goto(authorizationUrl.href);
    let wrongTokenMessage: string | null = null;
    if (wrongFirst) {
      await page.getByLabel('Operator token (LORALOOP_HTTP_TOKEN)').fill('not-the-token');
      await page.getByRole('button', { name: 'Approve' }).click();
      wrongTokenMessage = await page.getByRole('alert').textContent();
    }
    await page.getByLabel('Operator token (LORALOOP_HTTP_TOKEN)').fill(token);
    await page.getByRole('button', { name: 'Approve' }).click();
    return { callback: await arrived, wrongTokenMessage };
  } finally {
    await page.close();
  }
}

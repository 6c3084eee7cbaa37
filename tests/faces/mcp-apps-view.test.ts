import { Client, StreamableHTTPClientTransport, type CallToolResult } from '@modelcontextprotocol/client';
import type { McpUiResourceCsp } from '@modelcontextprotocol/ext-apps';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { chromium, type Browser, type FrameLocator, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveHttp, type HttpFace } from '../../src/faces/mcp/http.js';
import { startAppsHost } from '../support/apps-host.js';
import { makeTestApp } from '../support/app.js';
import { connectMcpClient } from '../support/mcp.js';

const TOKEN = 'static-token-for-apps-tests';
const TITLE = 'Solana ETF inflows hit $1B';

let t: ReturnType<typeof makeTestApp>;
let face: HttpFace;
let host: Awaited<ReturnType<typeof startAppsHost>>;
let client: Client;
let browser: Browser;
let html: string;
let csp: McpUiResourceCsp | undefined;

beforeAll(async () => {
  t = makeTestApp({ LORALOOP_HTTP_TOKEN: TOKEN });
  face = await serveHttp(t.app, { port: 0, host: '127.0.0.1', token: TOKEN, insecureLocal: false });
  host = await startAppsHost();
  client = new Client({ name: 'apps-host', version: '1' });
  // A fresh connection per request: on two loaded cores, a reused idle socket can race the server's
  // keep-alive close (ECONNRESET) between the view's calls, which are seconds apart.
  const headers = { authorization: `Bearer ${TOKEN}`, connection: 'close' };
  await client.connect(new StreamableHTTPClientTransport(new URL(face.url), { requestInit: { headers } }));
  // The host does what a chat client does: find the tool's view, read it once.
  const { tools } = await client.listTools();
  const uri = (tools.find((x) => x.name === 'cover_batch')?._meta?.ui as { resourceUri?: string } | undefined)?.resourceUri;
  expect(uri).toBe('ui://loraloop/cover-studio.html');
  const read = await client.readResource({ uri: uri! });
  const c = read.contents[0] as { text: string; _meta?: { ui?: { csp?: McpUiResourceCsp } } };
  html = c.text;
  csp = c._meta?.ui?.csp;
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await client?.close();
  await host?.close();
  await face?.close();
  await t?.dispose();
});

interface Opened {
  page: Page;
  view: FrameLocator;
  requests: string[];
  calls: string[];
}

/** A page of the host with the view embedded, showing `result` of a tool called with `input`. */
async function open(input: Record<string, unknown>, result: CallToolResult, o: { width?: number; theme?: 'light' | 'dark'; via?: Client } = {}): Promise<Opened> {
  const mcp = o.via ?? client;
  const ctx = await browser.newContext({ viewport: { width: o.width ?? 900, height: 700 } });
  const requests: string[] = [];
  const calls: string[] = [];
  // Record every request of the page and its frames; anything off this machine is refused, not sent.
  ctx.on('request', (r) => requests.push(r.url()));
  await ctx.route(/^(?!http:\/\/127\.0\.0\.1[:/])[a-z]+:\/\//, (route) => route.abort());
  const page = await ctx.newPage();
  page.on('pageerror', (e) => requests.push(`pageerror:${e.message}`));
  await page.exposeFunction('hostCallTool', async (p: { name: string; arguments?: Record<string, unknown> }) => {
    calls.push(p.name);
    return mcp.callTool(p);
  });
  await page.exposeFunction('hostReadResource', (p: { uri: string }) => {
    calls.push('resources/read');
    return mcp.readResource(p);
  });
  await page.goto(host.url);
  await page.evaluate((a) => window.startHost(a), { html, csp, input, result, theme: o.theme ?? 'light' });
  const view = page.frameLocator('iframe');
  await view.locator('html[data-connected="true"]').waitFor({ timeout: 15_000 });
  return { page, view, requests, calls };
}

function allLoaded(view: FrameLocator, selector: string): Promise<boolean> {
  return view.locator('body').evaluate((_b, sel) => {
    const imgs = Array.from(document.querySelectorAll<HTMLImageElement>(sel));
    return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
  }, selector);
}

describe('the cover studio view in a host (ext-apps AppBridge, headless Chromium)', () => {
  it('shows a real cover_batch result, rates through cover_rate, generates again, and requests nothing off the machine', async () => {
    const input = { title: TITLE, backend: 'local', count: 4 };
    const result = (await client.callTool({ name: 'cover_batch', arguments: input })) as CallToolResult;
    const batch = result.structuredContent as { batch_id: string; drafts: Array<{ number: number; cover_id: string; status: string }> };
    expect(batch.drafts.every((d) => d.status === 'done')).toBe(true);
    const { page, view, requests, calls } = await open(input, result, { theme: 'dark' });
    try {
      // Four drafts, each image loaded from its signed link, and the first draft in the detail panel.
      await expect.poll(() => view.locator('#grid li').count()).toBe(4);
      await expect.poll(() => allLoaded(view, '#grid img, #cover-img'), { timeout: 15_000 }).toBe(true);
      expect(await view.locator('#batch-head').textContent()).toContain('4/4 drafts');
      expect(await view.locator('#fact-coin').textContent()).toBe('SOL');
      expect(await view.locator('#fact-palette .swatch').count()).toBeGreaterThan(1);
      expect(await view.locator('#fact-lora').textContent()).toBeTruthy();
      expect(await view.locator('#cover-label').textContent()).toContain(batch.drafts[0]!.cover_id);
      // The critic's score and reasons, asked through the host.
      await expect.poll(() => view.locator('#score').textContent(), { timeout: 15_000 }).toMatch(/^\d\.\d\d$/);
      expect(await view.locator('#reasons li').count()).toBeGreaterThan(2);
      expect(calls).toContain('cover_critique');
      // The host's dark theme, then a switch to light while it is open.
      expect(await view.locator('html').getAttribute('data-theme')).toBe('dark');
      await page.evaluate(() => window.setHostTheme('light'));
      await expect.poll(() => view.locator('html').getAttribute('data-theme')).toBe('light');

      // Focus draft 2 and rate it 4 stars: the rating is in the store.
      const second = batch.drafts[1]!.cover_id;
      await view.getByRole('button', { name: 'Show draft 2' }).click();
      await expect.poll(() => view.locator('#cover-label').textContent()).toContain(second);
      await view.getByRole('button', { name: 'Rate 4 stars' }).click();
      await expect.poll(() => view.getByRole('status').textContent()).toMatch(/Rated draft 2 4\/5/);
      expect(calls).toContain('cover_rate');
      expect((await t.app.services.store.ratings.effective(second)).map((r) => r.stars)).toEqual([4]);
      expect(await view.getByRole('button', { name: 'Rate 4 stars' }).getAttribute('aria-pressed')).toBe('true');

      // Generate again: a new cover (not one of the drafts), shown with its own image.
      const before = await t.app.services.store.covers.count();
      await view.getByRole('button', { name: 'Generate again' }).click();
      await expect.poll(() => view.getByRole('status').textContent(), { timeout: 20_000 }).toMatch(/^New cover /);
      expect(await t.app.services.store.covers.count()).toBe(before + 1);
      const label = (await view.locator('#cover-label').textContent()) ?? '';
      const newId = label.split(' · ')[1]!;
      expect(batch.drafts.map((d) => d.cover_id)).not.toContain(newId);
      expect((await t.app.services.store.covers.get(newId))?.title).toBe(TITLE);
      await expect.poll(() => allLoaded(view, '#cover-img'), { timeout: 15_000 }).toBe(true);
      const src = await view.locator('#cover-img').getAttribute('src');
      expect(src).toMatch(new RegExp(`^${face.baseUrl}/files/`));

      // Keep the best: the critic scores each draft and drafts_select records the winner.
      await view.getByRole('button', { name: 'Keep the best' }).click();
      await expect.poll(() => view.getByRole('status').textContent(), { timeout: 30_000 }).toMatch(/Kept draft \d\. Best score/);
      const sel = (await t.app.services.store.generation.listDrafts(batch.batch_id)).filter((d) => d.selected);
      expect(sel).toHaveLength(1);

      // Every control has an accessible name.
      const unnamed = await view.locator('body').evaluate(() =>
        Array.from(document.querySelectorAll('button, input')).filter((e) => !(e.getAttribute('aria-label') || e.textContent?.trim())).map((e) => e.outerHTML),
      );
      expect(unnamed).toEqual([]);

      if (process.env.LORALOOP_SCREENSHOT) {
        await view.getByRole('button', { name: 'Show draft 1' }).click();
        await page.evaluate(() => window.setHostTheme('dark'));
        await expect.poll(() => view.locator('html').getAttribute('data-theme')).toBe('dark');
        await view.locator('body').evaluate(async () => {
          await document.fonts.ready;
          window.scrollTo(0, 0);
        });
        mkdirSync(dirname(process.env.LORALOOP_SCREENSHOT), { recursive: true });
        const png = await page.screenshot({ type: 'png' });
        writeFileSync(process.env.LORALOOP_SCREENSHOT, await sharp(png).png({ palette: true, quality: 90, effort: 10 }).toBuffer());
      }
      // Only this machine: the host page, the view's signed image links, and data:/blob:/about: URLs.
      const outside = requests.filter((u) => !/^(http:\/\/127\.0\.0\.1:\d+\/|data:|blob:|about:)/.test(u));
      expect(outside).toEqual([]);
      expect(requests.some((u) => u.startsWith(`${face.baseUrl}/files/`))).toBe(true);
    } finally {
      await page.context().close();
    }
  }, 120_000);

  it('fills in a running batch as its drafts land, and fits a 360 px wide chat', async () => {
    const input = { title: 'Bitcoin miners sell as hashprice drops', backend: 'local', count: 4, wait: false };
    const result = (await client.callTool({ name: 'cover_batch', arguments: input })) as CallToolResult;
    expect((result.structuredContent as { status: string }).status).toBe('running');
    const { page, view, calls } = await open(input, result, { width: 360 });
    try {
      await expect.poll(() => view.locator('#batch-head').textContent(), { timeout: 60_000 }).toMatch(/4\/4 drafts$/);
      expect(calls).toContain('cover_batch');
      await expect.poll(() => allLoaded(view, '#grid img'), { timeout: 15_000 }).toBe(true);
      const overflow = await view.locator('body').evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow).toBeLessThanOrEqual(0);
    } finally {
      await page.context().close();
    }
  }, 120_000);

  it('shows a single cover_generate result from a server without download links, reading the image through the host', async () => {
    // As over stdio: results carry loraloop:// URIs but no URL, so the view asks the host for resources/read.
    const local = await connectMcpClient(t.app, 'apps-host-local');
    try {
      const input = { title: 'Ethereum upgrade ships', seed: 21 };
      const result = (await local.callTool({ name: 'cover_generate', arguments: input })) as CallToolResult;
      expect((result.structuredContent as { resources: Array<{ url: string | null }> }).resources[0]!.url).toBeNull();
      const { page, view, calls, requests } = await open(input, result, { via: local });
      try {
        await expect.poll(() => allLoaded(view, '#cover-img'), { timeout: 15_000 }).toBe(true);
        expect(await view.locator('#cover-img').getAttribute('src')).toMatch(/^data:image\/png;base64,/);
        expect(calls).toContain('resources/read');
        expect(await view.locator('#fact-coin').textContent()).toBe('ETH');
        expect(await view.locator('#fact-style').textContent()).toContain('seed 21');
        expect(await view.locator('#batch').isHidden()).toBe(true);
        expect(requests.filter((u) => !/^(http:\/\/127\.0\.0\.1:\d+\/|data:|blob:|about:)/.test(u))).toEqual([]);
      } finally {
        await page.context().close();
      }
    } finally {
      await local.close();
    }
  }, 60_000);
});

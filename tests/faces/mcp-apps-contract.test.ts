import type { Client } from '@modelcontextprotocol/client';
import { getToolUiResourceUri } from '@modelcontextprotocol/ext-apps/app-bridge';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlineModule } from '../../src/faces/mcp/apps/library.js';
import { makeTestApp } from '../support/app.js';
import { connectMcpClient } from '../support/mcp.js';

const VIEW = 'ui://loraloop/cover-studio.html';
let t: ReturnType<typeof makeTestApp>;
let client: Client;

beforeAll(async () => {
  t = makeTestApp();
  client = await connectMcpClient(t.app);
});
afterAll(async () => {
  await client.close();
  await t.dispose();
});

describe('the cover studio as an MCP Apps resource', () => {
  it('tools/list links the three cover tools (and only them) to the view, in both _meta forms hosts read', async () => {
    const { tools } = await client.listTools();
    const linked = tools.filter((x) => getToolUiResourceUri(x) !== undefined).map((x) => x.name);
    expect(linked.sort()).toEqual(['cover_batch', 'cover_generate', 'cover_make']);
    for (const name of linked) {
      const meta = tools.find((x) => x.name === name)!._meta!;
      expect(meta.ui).toEqual({ resourceUri: VIEW });
      expect(meta['ui/resourceUri']).toBe(VIEW);
    }
    // The rest of the tool is what clients without the extension already get.
    const gen = tools.find((x) => x.name === 'cover_generate')!;
    expect(gen.inputSchema.properties).toHaveProperty('title');
  });

  it('resources/list and resources/read serve one self-contained HTML document with the MCP Apps mime type', async () => {
    const list = await client.listResources();
    const entry = list.resources.find((r) => r.uri === VIEW);
    expect(entry?.mimeType).toBe('text/html;profile=mcp-app');
    const read = await client.readResource({ uri: VIEW });
    expect(read.contents).toHaveLength(1);
    const c = read.contents[0] as { uri: string; mimeType: string; text: string; _meta?: { ui?: { csp?: { resourceDomains: string[]; connectDomains: string[] } } } };
    expect(c.mimeType).toBe('text/html;profile=mcp-app');
    expect(c.text.startsWith('<!doctype html>')).toBe(true);
    // Over stdio there are no download links: the view asks for nothing but inline data.
    expect(c._meta?.ui?.csp).toEqual({ resourceDomains: [], connectDomains: [] });
    // Nothing to fetch: no external script, stylesheet, font or image, and no CDN (the markup and styles come
    // before the one inline module script; booleans keep a failure from printing half a megabyte).
    const page = c.text.slice(0, c.text.indexOf('<script type="module">'));
    expect(/<(script|link|img|iframe)[^>]+(src|href)=/i.test(page)).toBe(false);
    expect(/@import|url\(/i.test(page)).toBe(false);
    expect(c.text.split('<script').length - 1).toBe(1);
    expect(/\bimport\s*\(|importScripts\(/.test(c.text)).toBe(false);
    // ext-apps' App is inline and bound; the view runs with it.
    expect(c.text).toContain('const __extApps={');
    expect(c.text).toMatch(/"App":/);
    expect(c.text).toMatch(/\)\(__extApps, \{"name":"loraloop cover studio"/);
    // A reasonable size: the library is ~540 KB of the document, the studio itself a few dozen KB.
    expect(Buffer.byteLength(c.text)).toBeLessThan(650_000);
    // Every control carries an accessible name in the markup.
    for (const label of ['Rate 1 star', 'Rate 5 stars', 'Generate again', 'Another style', 'Keep the best', 'Save picks']) expect(c.text).toContain(label);
  });

  it('a cover_batch result links every finished draft (not only the contact sheet) and says its coin and palette', async () => {
    const r = await client.callTool({ name: 'cover_batch', arguments: { title: 'Solana ETF inflows hit $1B', backend: 'local', count: 2, seed: 5 } });
    const sc = r.structuredContent as { drafts: Array<{ path: string; coin: string | null; palette: string[] }>; resources: Array<{ path: string; title: string | null }> };
    expect(sc.drafts.map((d) => d.coin)).toEqual(['SOL', 'SOL']);
    expect(sc.drafts[0]!.palette.length).toBeGreaterThan(1);
    for (const d of sc.drafts) expect(sc.resources.map((x) => x.path)).toContain(d.path);
    expect(sc.resources.map((x) => x.title)).toEqual(['Contact sheet of the drafts', 'Draft 1', 'Draft 2']);
    // One preview (the contact sheet), not one per draft: the model's context stays small.
    expect((r.content as Array<{ type: string }>).filter((x) => x.type === 'image')).toHaveLength(1);
  });
});

describe('what the view shows comes in the results', () => {
  it('cover_make says how its best cover looks (palette, LoRA, style) beside its score and checks', async () => {
    const r = await client.callTool({ name: 'cover_make', arguments: { request: 'make a Solana cover: Solana ETF inflows hit $1B', budget: { attempts: 1 }, seed: 4 } });
    const sc = r.structuredContent as { cover_id: string; score: number; checks: unknown[]; palette: { colors: string[] } | null; style: string | null };
    expect(sc.checks.length).toBeGreaterThan(2);
    expect(sc.palette?.colors).toEqual((await t.app.services.store.covers.get(sc.cover_id))?.palette.colors);
    expect(sc.palette!.colors.length).toBeGreaterThan(1);
    expect(sc.style).toBeTruthy();
  });
});

describe('inlining a bundled module', () => {
  it('binds the trailing export clause to a const, and refuses a file without one', () => {
    expect(inlineModule('var a=1,b=2;export{a as App,b};')).toBe('var a=1,b=2;const __extApps={"App":a,"b":b};');
    expect(() => inlineModule('module.exports = {}')).toThrow(/one trailing export clause/);
  });
});

/**
 * dataset_collect end to end: a feed served on 127.0.0.1 (LORALOOP_ALLOW_PRIVATE_URLS=1) with real fixture
 * images, routed by the coin in each title into real projects through the tool registry.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../../src/app.js';
import type { CommandResult } from '../../../src/core/result.js';
import { startOpenAIEmulator } from '../../emulators/openai.js';
import { makeTestApp } from '../../support/app.js';
import { storeFile } from '../../support/sqlite.js';
import { errorOf } from '../../support/result.js';

const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../shared/fixtures/images');

interface CollectData {
  added: number;
  format: string;
  dry_run: boolean;
  results: Array<{ image: string; title: string; coin: string | null; lora_id: string | null; status: string; image_id: string | null; detail: string | null }>;
  projects: Array<{ lora_id: string; name: string; added: number }>;
  coins_without_project: string[];
  captioner: string;
}

let server: Server;
let base = '';
const hits: string[] = [];
/** Path -> [content-type, body]; tests replace entries. */
const routes = new Map<string, [string, Buffer | string]>();

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(req.url ?? '');
    const r = routes.get(req.url ?? '');
    if (!r) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': r[0] }).end(r[1]);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  for (const f of ['Landscape_1.jpg', 'Landscape_2.jpg', 'Landscape_3.jpg', 'Portrait_1.jpg', 'random.jpg', 'corrupt-header.jpg']) {
    routes.set(`/img/${f}`, ['image/jpeg', readFileSync(path.join(FIXTURES, f))]);
  }
  // The same pixels as Landscape_1 under another URL: caught by the pixel hash, not by the URL.
  routes.set('/img/copy-of-1.jpg', ['image/jpeg', readFileSync(path.join(FIXTURES, 'Landscape_1.jpg'))]);
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const disposers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (disposers.length) await disposers.pop()?.();
  hits.length = 0;
});

function app(): App {
  const t = makeTestApp({ LORALOOP_ALLOW_PRIVATE_URLS: '1' });
  disposers.push(t.dispose);
  return t.app;
}

async function call<T>(a: App, tool: string, input: unknown): Promise<CommandResult<T>> {
  return (await a.tools.execute(tool, input, a.context())) as CommandResult<T>;
}
async function callOk<T>(a: App, tool: string, input: unknown): Promise<T> {
  const r = await call<T>(a, tool, input);
  if (!r.success) throw new Error(`${tool}: ${r.reasoning}`);
  return r.data;
}

async function project(a: App, name: string, coins: string[], trigger: string): Promise<string> {
  return (await callOk<{ lora_id: string }>(a, 'lora_create', { name, base_model: 'flux', asset_type: 'cover', trigger_word: trigger, coins })).lora_id;
}

function rss(items: Array<{ title: string; img?: string; kind?: 'enclosure' | 'media' | 'thumb' }>): string {
  const body = items
    .map((it, i) => {
      const img = it.img
        ? it.kind === 'media'
          ? `<media:content url="${base}/img/${it.img}" medium="image" width="800"/>`
          : it.kind === 'thumb'
            ? `<media:thumbnail url="/img/${it.img}"/>`
            : `<enclosure url="${base}/img/${it.img}" type="image/jpeg" length="1"/>`
        : '';
      return `<item><title><![CDATA[${it.title}]]></title><link>${base}/a/${i}</link>${img}</item>`;
    })
    .join('\n');
  return `<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>Desk</title>${body}</channel></rss>`;
}

describe('dataset_collect from a feed', () => {
  it('routes each image by the coin in its title, captions it, reports what it cannot place, and never takes an image twice', async () => {
    const a = app();
    const sol = await project(a, 'solana-covers', ['SOL'], 'sks solana');
    const eth = await project(a, 'ether-covers', ['ETH'], 'sks ether');
    routes.set(
      '/feed.xml',
      [
        'application/rss+xml',
        rss([
          { title: 'Solana ETF inflows hit $1B', img: 'Landscape_1.jpg' },
          { title: 'Ethereum gas fees fall to a 3-year low', img: 'Landscape_2.jpg', kind: 'media' },
          { title: 'Solana validators vote on a fee change', img: 'Portrait_1.jpg', kind: 'thumb' },
          { title: 'Dogecoin jumps 12% after a celebrity post', img: 'Landscape_3.jpg' },
          { title: 'Markets are calm ahead of the Fed', img: 'random.jpg' },
          { title: 'Solana outage: a post-mortem', img: 'corrupt-header.jpg' },
          { title: 'Solana hits a new daily record', img: 'copy-of-1.jpg' },
          { title: 'Ethereum devs set a date for the upgrade' },
        ]),
      ],
    );
    const first = await callOk<CollectData>(a, 'dataset_collect', { feed_url: `${base}/feed.xml` });
    expect(first.format).toBe('rss');
    const status = Object.fromEntries(first.results.map((r) => [r.title, r.status]));
    expect(status).toEqual({
      'Solana ETF inflows hit $1B': 'added',
      'Ethereum gas fees fall to a 3-year low': 'added',
      'Solana validators vote on a fee change': 'added',
      'Dogecoin jumps 12% after a celebrity post': 'no_project',
      'Markets are calm ahead of the Fed': 'no_coin',
      'Solana outage: a post-mortem': 'failed',
      'Solana hits a new daily record': 'duplicate',
      'Ethereum devs set a date for the upgrade': 'no_image',
    });
    expect(first.added).toBe(3);
    expect(first.coins_without_project).toEqual(['DOGE']);
    expect(first.captioner).toBe('title');
    // Images reached the right projects, captioned with the trigger word first and the title.
    const solImages = await a.services.store.loras.listImages(sol);
    const ethImages = await a.services.store.loras.listImages(eth);
    expect(solImages).toHaveLength(2);
    expect(ethImages).toHaveLength(1);
    expect(solImages[0]?.caption).toMatch(/^sks solana, Solana news image, for the article "Solana ETF inflows hit \$1B"$/);
    expect(solImages[0]).toMatchObject({ caption_status: 'ok', source: `${base}/img/Landscape_1.jpg` });
    expect(ethImages[0]?.caption?.startsWith('sks ether')).toBe(true);
    // The duplicate names the image it duplicates.
    const dup = first.results.find((r) => r.status === 'duplicate');
    expect(dup?.image_id).toBe(solImages[0]?.id);
    expect(first.results.find((r) => r.status === 'failed')?.detail).toMatch(/corrupt|decode|image/i);

    // Second pass: nothing downloaded again that was settled; the broken image is retried; no new rows.
    hits.length = 0;
    const second = await callOk<CollectData>(a, 'dataset_collect', { feed_url: `${base}/feed.xml` });
    expect(second.added).toBe(0);
    const st2 = Object.fromEntries(second.results.map((r) => [r.title, r.status]));
    expect(st2['Solana ETF inflows hit $1B']).toBe('seen');
    expect(st2['Solana hits a new daily record']).toBe('seen');
    expect(st2['Solana outage: a post-mortem']).toBe('failed');
    expect(st2['Dogecoin jumps 12% after a celebrity post']).toBe('no_project');
    expect(hits.filter((h) => h.startsWith('/img/'))).toEqual(['/img/corrupt-header.jpg']);
    expect(await a.services.store.loras.countImages(sol)).toBe(2);

    // A project for DOGE created later receives its image on the next collection.
    const doge = await project(a, 'doge-covers', ['DOGE'], 'sks doge');
    const third = await callOk<CollectData>(a, 'dataset_collect', { feed_url: `${base}/feed.xml` });
    expect(third.projects).toEqual([{ lora_id: doge, name: 'doge-covers', added: 1 }]);
  });

  it('reads Atom and JSON Feed, and puts everything into the project given', async () => {
    const a = app();
    const brand = await project(a, 'house-style', [], 'sks house');
    routes.set('/atom.xml', [
      'application/atom+xml',
      `<feed xmlns="http://www.w3.org/2005/Atom"><title>A</title><entry><title>Markets wrap</title><link href="${base}/a/1"/><link rel="enclosure" type="image/jpeg" href="/img/Landscape_2.jpg"/></entry></feed>`,
    ]);
    routes.set('/feed.json', [
      'application/feed+json',
      JSON.stringify({ version: 'https://jsonfeed.org/version/1.1', title: 'J', items: [{ id: '1', title: 'Cardano news', url: `${base}/a/2`, banner_image: `${base}/img/Landscape_3.jpg` }] }),
    ]);
    const atom = await callOk<CollectData>(a, 'dataset_collect', { feed_url: `${base}/atom.xml`, lora_id: 'house-style' });
    const json = await callOk<CollectData>(a, 'dataset_collect', { feed_url: `${base}/feed.json`, lora_id: brand });
    expect([atom.format, json.format]).toEqual(['atom', 'json']);
    expect(atom.results[0]).toMatchObject({ status: 'added', lora_id: brand });
    expect(json.results[0]).toMatchObject({ status: 'added', coin: 'ADA', lora_id: brand });
    expect(await a.services.store.loras.countImages(brand)).toBe(2);
  });

  it('dry run says what it would add and changes nothing', async () => {
    const a = app();
    await project(a, 'solana-covers', ['SOL'], 'sks solana');
    routes.set('/dry.xml', ['application/rss+xml', rss([{ title: 'Solana ETF inflows hit $1B', img: 'Landscape_1.jpg' }])]);
    const r = await callOk<CollectData>(a, 'dataset_collect', { feed_url: `${base}/dry.xml`, dry_run: true });
    expect(r.results[0]?.status).toBe('would_add');
    expect(hits.filter((h) => h.startsWith('/img/'))).toEqual([]);
    const n = storeFile(a.services.config.home).prepare('SELECT COUNT(*) AS n FROM collected_items').get() as { n: number };
    expect(n.n).toBe(0);
  });

  it('refuses private feed URLs unless LORALOOP_ALLOW_PRIVATE_URLS is set, and explains a non-feed', async () => {
    const t = makeTestApp();
    disposers.push(t.dispose);
    const r = await call(t.app, 'dataset_collect', { feed_url: `${base}/feed.xml` });
    expect(r.success).toBe(false);
    expect(errorOf(r).code).toBe('URL_NOT_ALLOWED');
    expect(hits).toEqual([]);
    const a = app();
    routes.set('/page.html', ['text/html', '<html><body>hello</body></html>']);
    const bad = await call(a, 'dataset_collect', { feed_url: `${base}/page.html` });
    expect(bad.success).toBe(false);
    expect(bad.reasoning).toMatch(/not a feed/);
  });
});

describe('dataset_collect with a vision model', () => {
  it('captions the collected images through caption_write (openai SDK against the emulator)', async () => {
    const oa = await startOpenAIEmulator({ apiKey: 'sk-test-9' });
    try {
      const t = makeTestApp({ LORALOOP_ALLOW_PRIVATE_URLS: '1', OPENAI_API_KEY: 'sk-test-9', OPENAI_BASE_URL: oa.baseUrl, LORALOOP_VISION_MODEL: 'emu-vision' });
      disposers.push(t.dispose);
      const sol = await project(t.app, 'solana-covers', ['SOL'], 'sks solana');
      routes.set('/vision.xml', ['application/rss+xml', rss([{ title: 'Solana ETF inflows hit $1B', img: 'Landscape_1.jpg' }])]);
      oa.push({ content: '{"caption": "a wide mountain landscape at dusk with a lake in the foreground", "categories": ["far/wide"]}' });
      const r = await callOk<CollectData>(t.app, 'dataset_collect', { feed_url: `${base}/vision.xml` });
      expect(r.captioner).toBe('vision');
      const [img] = await t.app.services.store.loras.listImages(sol);
      expect(img).toMatchObject({ caption_source: 'vision' });
      expect(img?.caption).toMatch(/^sks solana, a wide mountain landscape at dusk/);
      // The coin from the title went along as a tag, so the captioner keeps it.
      expect(img?.caption).toContain('SOL');
      expect(oa.requests).toHaveLength(1);
      expect(oa.requests[0]?.images).toHaveLength(1);
    } finally {
      await oa.close();
    }
  });
});

describe('dataset_collect from a folder', () => {
  it('reads titles.json, routes by coin, and reports images without a title', async () => {
    const a = app();
    const sol = await project(a, 'solana-covers', ['SOL'], 'sks solana');
    const dir = mkdtempSync(path.join(tmpdir(), 'loraloop-collect-'));
    for (const f of ['Landscape_1.jpg', 'Landscape_2.jpg', 'Portrait_1.jpg']) copyFileSync(path.join(FIXTURES, f), path.join(dir, f));
    writeFileSync(path.join(dir, 'titles.json'), JSON.stringify({ 'Landscape_1.jpg': 'Solana DEX volume doubles', 'Portrait_1.jpg': { title: 'Bitcoin miners capitulate', url: 'https://n.example/b' } }));
    const r = await callOk<CollectData>(a, 'dataset_collect', { dir });
    expect(r.format).toBe('folder');
    expect(r.results.map((x) => [x.title, x.status])).toEqual([
      ['Solana DEX volume doubles', 'added'],
      ['Bitcoin miners capitulate', 'no_project'],
      ['', 'no_image'],
    ]);
    expect(r.results[2]?.detail).toMatch(/Landscape_2\.jpg has no title/);
    expect(await a.services.store.loras.countImages(sol)).toBe(1);
    const again = await callOk<CollectData>(a, 'dataset_collect', { dir });
    expect(again.results[0]?.status).toBe('seen');
  });

  it('refuses a sidecar that points outside the folder', async () => {
    const a = app();
    const dir = mkdtempSync(path.join(tmpdir(), 'loraloop-collect-'));
    writeFileSync(path.join(dir, 'titles.json'), JSON.stringify({ '../etc/passwd': 'Solana' }));
    const r = await call(a, 'dataset_collect', { dir });
    expect(r.success).toBe(false);
    expect(errorOf(r).code).toBe('PATH_NOT_ALLOWED');
  });
});

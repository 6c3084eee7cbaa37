/**
 * The report is checked the way a person sees it: opened in headless Chromium (Debian's package, driven by
 * playwright-core), with the network cut off, so anything not inline would fail to load.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../../src/app.js';
import { makeTestApp } from '../../support/app.js';
import { makeProject } from '../helpers.js';
import { dataOf, errorOf } from '../../support/result.js';

const CHROMIUM = '/usr/bin/chromium';

describe('dataset_report', () => {
  let app: App;
  let home: string;
  let dispose: () => Promise<void>;
  let browser: BrowserContext;
  let profile: string;
  let loraId: string;
  beforeAll(async () => {
    ({ app, home, dispose } = makeTestApp());
    const dir = join(home, 'in');
    const p = await makeProject(app, dir, { name: 'hero' }, [
      ...Array.from({ length: 5 }, (_, i) => ({ name: `close-${i}.png`, seed: 700 + i, tags: ['close-up'], width: 1024, height: 1024 })),
      ...Array.from({ length: 2 }, (_, i) => ({ name: `full-${i}.jpg`, seed: 800 + i, caption: `zxq, full-body, red jacket, city street ${i}`, width: 832, height: 1216 })),
      { name: 'small.png', seed: 900, width: 300, height: 300 },
    ]);
    loraId = p.lora_id;
    // A near duplicate, so the report has a group to show side by side.
    writeFileSync(join(dir, 'close-0-copy.jpg'), await sharp(join(dir, 'close-0.png')).resize(1000, 1000).jpeg({ quality: 88 }).toBuffer());
    await app.tools.execute('lora_upload_images', { lora_id: loraId, images: [{ path: join(dir, 'close-0-copy.jpg') }] }, app.context());
    profile = mkdtempSync(join(tmpdir(), 'loraloop-chromium-'));
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      offline: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    rmSync(profile, { recursive: true, force: true });
    await dispose();
  });

  it('writes one self-contained HTML file whose chart, thumbnails and duplicate groups render in Chromium, and a PNG contact sheet', async () => {
    const out = join(home, 'reports', 'hero.html');
    const r = await app.tools.execute('dataset_report', { lora_id: loraId, out }, app.context());
    expect(r.success).toBe(true);
    const d = dataOf(r) as { html_path: string; contact_sheet_path: string; thumbnails: number; sheet_images: number; duplicate_groups: number };
    expect(d.html_path).toBe(out);
    expect(d).toMatchObject({ thumbnails: 9, sheet_images: 9, duplicate_groups: 1 });

    const html = readFileSync(out, 'utf8');
    // Self-contained: no external references of any kind.
    expect(html).not.toMatch(/(src|href)="(?!data:)/);
    expect(html).not.toMatch(/<script/i);

    const page = await browser.newPage();
    const failed: string[] = [];
    page.on('requestfailed', (req) => failed.push(req.url().slice(0, 60)));
    await page.goto(`file://${out}`);
    await page.waitForLoadState('load');
    const chart = await page.evaluate(() => {
      const svg = document.querySelector('svg#category-chart');
      const bars = Array.from(document.querySelectorAll('svg#category-chart rect.bar')) as SVGRectElement[];
      return {
        present: svg !== null,
        width: svg?.getBoundingClientRect().width ?? 0,
        bars: bars.map((b) => ({ category: b.dataset.category, share: Number(b.dataset.share), width: b.getBBox().width })),
        bands: document.querySelectorAll('svg#category-chart rect.target').length,
      };
    });
    expect(chart.present).toBe(true);
    expect(chart.width).toBeGreaterThan(300);
    expect(chart.bands).toBe(7);
    const close = chart.bars.find((b) => b.category === 'close-up');
    const full = chart.bars.find((b) => b.category === 'full-body');
    expect(close?.share).toBeGreaterThan(full?.share ?? 100);
    expect(close!.width).toBeGreaterThan(full!.width);
    const images = await page.evaluate(() =>
      Array.from(document.querySelectorAll('img')).map((i) => ({ cls: i.className, loaded: i.complete && i.naturalWidth > 0, src: i.src.slice(0, 22) })),
    );
    expect(images.length).toBeGreaterThanOrEqual(9);
    expect(images.every((i) => i.loaded)).toBe(true);
    expect(images.every((i) => i.src === 'data:image/jpeg;base64')).toBe(true);
    const dupFigures = await page.evaluate(() => Array.from(document.querySelectorAll('.dups[data-group="0"] img')).filter((i) => (i as HTMLImageElement).naturalWidth > 0).length);
    expect(dupFigures).toBe(2);
    const issueKinds = await page.evaluate(() => Array.from(document.querySelectorAll('#issues tr[data-kind]')).map((r) => r.getAttribute('data-kind')));
    expect(issueKinds).toEqual(expect.arrayContaining(['low_resolution', 'duplicate']));
    expect(await page.textContent('#summary')).toMatch(/Analysed 9 of 9 images of hero/);
    expect(failed).toEqual([]);
    await page.close();

    expect(existsSync(d.contact_sheet_path)).toBe(true);
    const sheet = await sharp(d.contact_sheet_path).metadata();
    expect(sheet.format).toBe('png');
    // 9 images: one row of 9 cells of 160 px with 6 px gaps.
    expect(sheet.width).toBe(9 * 166 + 6);
    expect(sheet.height).toBe(172);
  }, 60_000);

  it('refuses an output path outside the allowed roots', async () => {
    const r = await app.tools.execute('dataset_report', { lora_id: loraId, out: '/etc/report.html' }, app.context());
    expect(errorOf(r)).toMatchObject({ code: 'PATH_NOT_ALLOWED' });
  });
});

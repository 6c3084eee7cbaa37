import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import { parse } from 'smol-toml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildReplicateZip, writeKohyaBundle } from '../../src/dataset/export.js';
import { makeTestApp } from '../support/app.js';
import { dataOf, errorOf } from '../support/result.js';

const TRIGGER = 'sks solana';

/** Small distinct images (a solid colour each) so the test stays fast. */
async function makeImage(path: string, rgb: [number, number, number], w = 96, h = 64): Promise<void> {
  await sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .jpeg()
    .toFile(path);
}

/** Every file under a folder with its sha256, as relative path -> hash. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d).sort()) {
      const p = join(d, n);
      if (statSync(p).isDirectory()) walk(p);
      else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

describe('dataset_export', () => {
  const t = makeTestApp();
  let src: string;
  let loraId: string;
  const run = async (tool: string, input: unknown) => t.app.tools.execute(tool, input, t.app.context());

  beforeAll(async () => {
    src = mkdtempSync(join(tmpdir(), 'loraloop-export-src-'));
    const c = await run('lora_create', { name: 'solana-coin', base_model: 'flux', asset_type: 'coin', trigger_word: TRIGGER, coins: ['SOL'] });
    loraId = dataOf<{ lora_id: string }>(c).lora_id;
    const images = [
      { file: 'closeup-1.jpg', rgb: [200, 30, 30], caption: 'a glossy purple coin on a black desk', categories: ['closeup'] },
      { file: 'closeup-2.jpg', rgb: [30, 200, 30], caption: 'SKS Solana coin, macro shot, rim light', categories: ['closeup'] },
      { file: 'wide 1.jpg', rgb: [30, 30, 200], caption: '[trigger] logo on a billboard in a city at night', categories: ['wide shot'] },
      { file: 'wide-2.jpg', rgb: [120, 120, 30], caption: 'billboards with the coin logo on a rainy street', categories: ['wide shot'] },
      { file: 'wide-3.jpg', rgb: [30, 120, 120], caption: 'a crowd under a giant glowing coin logo at night', categories: ['wide shot'] },
      { file: 'wide-4.jpg', rgb: [120, 30, 120], caption: 'a train station poster showing the coin logo', categories: ['wide shot'] },
      { file: 'pending.jpg', rgb: [240, 240, 240], tags: ['flat', 'white background'] },
    ] as const;
    for (const im of images) await makeImage(join(src, im.file), [...im.rgb]);
    const r = await run('lora_upload_images', {
      lora_id: loraId,
      images: images.map((im) => ({
        path: join(src, im.file),
        ...('caption' in im ? { caption: im.caption } : {}),
        ...('tags' in im ? { tags: [...im.tags] } : {}),
        ...('categories' in im ? { categories: [...im.categories] } : {}),
      })),
    });
    expect(dataOf<{ added: number }>(r).added).toBe(images.length);
  });
  afterAll(async () => {
    await t.dispose();
    rmSync(src, { recursive: true, force: true });
  });

  it('replicate: two exports are byte-identical, every image has a .txt beside it starting with the trigger word', async () => {
    const a = await run('dataset_export', { lora_id: loraId, target: 'replicate', out: join(src, 'a.zip') });
    const b = await run('dataset_export', { lora_id: 'solana-coin', target: 'replicate', out: join(src, 'b', 'b.zip') });
    expect(a.success, a.reasoning).toBe(true);
    expect(readFileSync(join(src, 'a.zip')).equals(readFileSync(join(src, 'b', 'b.zip')))).toBe(true);
    expect(dataOf<{ sha256: string }>(a).sha256).toBe(dataOf<{ sha256: string }>(b).sha256);

    const entries = unzipSync(readFileSync(join(src, 'a.zip')));
    const names = Object.keys(entries);
    expect(names).toEqual([...names].sort());
    const images = names.filter((n) => n.endsWith('.jpg'));
    expect(images).toHaveLength(7);
    for (const img of images) {
      const txt = entries[img.replace(/\.jpg$/, '.txt')];
      expect(txt, img).toBeDefined();
      expect(new TextDecoder().decode(txt).startsWith(TRIGGER), img).toBe(true);
    }
    const caption = (prefix: string) => new TextDecoder().decode(entries[names.find((n) => n.startsWith(prefix) && n.endsWith('.txt')) as string]);
    expect(caption('closeup-1-')).toBe(`${TRIGGER}, a glossy purple coin on a black desk`);
    expect(caption('closeup-2-')).toBe(`${TRIGGER} coin, macro shot, rim light`);
    expect(caption('wide-1-')).toBe(`${TRIGGER} logo on a billboard in a city at night`);
    expect(caption('pending-')).toBe(`${TRIGGER}, flat, white background`);
    expect(dataOf(a)).toMatchObject({ images: 7, pending_captions: 1 });
    expect(a.reasoning).toMatch(/1 of 7 images have no caption yet.*minimal caption/);
    expect(a.reasoning).toMatch(/at least 10/);
  });

  it('replicate: the helper gives the same zip as the tool', async () => {
    const { zip, images } = await buildReplicateZip(t.app.services, loraId);
    expect(images).toBe(7);
    expect(zip.equals(readFileSync(join(src, 'a.zip')))).toBe(true);
  });

  it('kohya: one folder per category, captions beside images, and a dataset_config.toml sd-scripts reads', async () => {
    const out = join(src, 'kohya');
    const r = await run('dataset_export', { lora_id: loraId, target: 'kohya', out });
    expect(r.success, r.reasoning).toBe(true);
    const cfg = parse(readFileSync(join(out, 'dataset_config.toml'), 'utf8')) as {
      general: Record<string, unknown>;
      datasets: Array<Record<string, unknown> & { subsets: Array<Record<string, unknown>> }>;
    };
    expect(cfg.general).toEqual({ shuffle_caption: true, caption_extension: '.txt', keep_tokens: 1 });
    expect(cfg.datasets).toHaveLength(1);
    expect(cfg.datasets[0]).toMatchObject({ resolution: 1024, batch_size: 1, enable_bucket: true, bucket_no_upscale: true });
    // The one pending image has no category, so it goes to "uncategorized"; the 2-image subset is repeated to balance the 4-image one.
    expect(cfg.datasets[0]?.subsets).toEqual([
      { image_dir: join(out, 'closeup'), num_repeats: 2, class_tokens: TRIGGER },
      { image_dir: join(out, 'uncategorized'), num_repeats: 4, class_tokens: TRIGGER },
      { image_dir: join(out, 'wide-shot'), num_repeats: 1, class_tokens: TRIGGER },
    ]);
    for (const s of cfg.datasets[0]?.subsets ?? []) {
      const files = readdirSync(s.image_dir as string);
      const imgs = files.filter((f) => f.endsWith('.jpg'));
      expect(imgs.length).toBeGreaterThan(0);
      for (const f of imgs) {
        const txt = readFileSync(join(s.image_dir as string, f.replace(/\.jpg$/, '.txt')), 'utf8');
        expect(txt.startsWith(TRIGGER)).toBe(true);
      }
    }
    expect(dataOf(r)).toMatchObject({ images: 7, pending_captions: 1, config_path: join(out, 'dataset_config.toml') });
  });

  it('kohya: exporting again into the same folder gives the same bytes; repeats can be set per category', async () => {
    const out = join(src, 'kohya');
    const before = tree(out);
    await run('dataset_export', { lora_id: loraId, target: 'kohya', out });
    expect(tree(out)).toEqual(before);
    const other = join(src, 'kohya-repeats');
    const b = await writeKohyaBundle(t.app.services, loraId, other, { repeats: { 'wide shot': 3, closeup: 5 }, imageRoot: '/data/sol' });
    expect(b.subsets.map((s) => [s.name, s.num_repeats, s.image_dir])).toEqual([
      ['closeup', 5, '/data/sol/closeup'],
      ['uncategorized', 4, '/data/sol/uncategorized'],
      ['wide-shot', 3, '/data/sol/wide-shot'],
    ]);
  });

  it('refuses a folder holding other files, and an out path outside the allowed roots', async () => {
    const busy = join(src, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'notes.md'), 'mine');
    const r = await run('dataset_export', { lora_id: loraId, target: 'kohya', out: busy });
    expect(errorOf(r).code).toBe('CONFLICT');
    expect(readFileSync(join(busy, 'notes.md'), 'utf8')).toBe('mine');
    const outside = await run('dataset_export', { lora_id: loraId, target: 'replicate', out: '/etc/loraloop.zip' });
    expect(errorOf(outside).code).toBe('PATH_NOT_ALLOWED');
  });

  it('refuses a project without images, saying what to do', async () => {
    await run('lora_create', { name: 'empty', base_model: 'sd15', asset_type: 'style', trigger_word: 'zxq' });
    const r = await run('dataset_export', { lora_id: 'empty', target: 'replicate', out: join(src, 'empty.zip') });
    expect(r.success).toBe(false);
    expect(r.reasoning).toMatch(/no training images.*lora_upload_images/);
  });
});

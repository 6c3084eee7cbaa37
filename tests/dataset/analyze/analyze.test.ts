import { writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../../src/app.js';
import type { ProgressUpdate } from '../../../src/tools/types.js';
import { makeTestApp } from '../../support/app.js';
import { makeProject, syntheticImage, type SeedImage } from '../helpers.js';
import { dataOf, errorOf } from '../../support/result.js';

const FIXTURES = new URL('../../../../shared/fixtures/images/', import.meta.url).pathname;

interface Analysis {
  images: number;
  analyzed: number;
  broken: number;
  usable: number;
  issues: Array<{ image_id?: string; file?: string; label: string; kind: string; detail: string }>;
  duplicates: string[][];
  categories: Record<string, { count: number; share: number; target: [number, number] | null }>;
  gaps: Array<{ category: string; share: number; target: [number, number]; severity: string; direction: string; needed: number; advice: string }>;
  volume_level: string;
  unclassified: number;
  typed_from_pixels: number;
  buckets: Record<string, number>;
  resolution_target: number;
}

describe('dataset_analyze on a folder of real files', () => {
  let app: App;
  let dispose: () => Promise<void>;
  beforeEach(() => ({ app, dispose } = makeTestApp({ LORALOOP_ALLOWED_ROOTS: `${FIXTURES}:${tmpdir()}` })));
  afterEach(async () => dispose());

  it('reports every broken file, goes on with the rest, and finds the EXIF-rotated copies as duplicate groups', async () => {
    const progress: ProgressUpdate[] = [];
    const ctx = { ...app.context(), progress: (p: ProgressUpdate) => progress.push(p) };
    const r = await app.tools.execute('dataset_analyze', { dir: FIXTURES }, ctx);
    expect(r.success).toBe(true);
    const d = dataOf<Analysis>(r);
    expect(d.images).toBe(33);
    expect(d.broken).toBe(5);
    expect(d.analyzed).toBe(28);
    const broken = d.issues.filter((i) => i.kind === 'broken').map((i) => i.file).sort();
    expect(broken).toEqual(['65536-uint32-limit.png', 'corrupt-header.jpg', 'giant-image.jpg', 'truncated.jpg', 'truncated.png']);
    expect(d.issues.find((i) => i.file === 'truncated.jpg')?.detail).toMatch(/truncated/);
    // Landscape_1..8 are one photo stored with 8 EXIF orientations: upright, they are one picture.
    expect(d.duplicates).toContainEqual(['Landscape_1.jpg', 'Landscape_2.jpg', 'Landscape_3.jpg', 'Landscape_4.jpg', 'Landscape_5.jpg', 'Landscape_6.jpg', 'Landscape_7.jpg', 'Landscape_8.jpg']);
    expect(d.duplicates).toContainEqual(['Portrait_1.jpg', 'Portrait_6.jpg', 'Portrait_8.jpg']);
    // Landscape_9 is a different photo.
    expect(d.duplicates.flat()).not.toContain('Landscape_9.jpg');
    expect(d.usable).toBe(d.analyzed - d.duplicates.reduce((s, g) => s + g.length - 1, 0));
    // Black-and-white photos in a mostly colour set, a tall strip, small files.
    const kindsOf = (f: string): string[] => d.issues.filter((i) => i.file === f).map((i) => i.kind);
    expect(kindsOf('concert.jpg')).toContain('greyscale');
    expect(kindsOf('big-height.webp')).toContain('odd_aspect');
    expect(kindsOf('320x240.jpg')).toContain('low_resolution');
    expect(kindsOf('Landscape_9.jpg')).not.toContain('greyscale');
    expect(d.resolution_target).toBe(1024);
    expect(progress.length).toBe(33);
    // Nothing in the folder names a framing, so the people detector looked at every image; it frames the few
    // with a person (the kayaker of Landscape_9, far away), and the rest (landscapes, test patterns, a crowd
    // seen from behind in the dark) stay unclassified: the balance cannot be judged yet.
    expect(d.typed_from_pixels).toBe(28);
    expect(d.categories['far/wide']?.count).toBeGreaterThanOrEqual(1);
    expect(d.unclassified).toBeGreaterThanOrEqual(23);
    expect(d.unclassified).toBeLessThanOrEqual(26);
    expect(r.reasoning).toMatch(/Balance cannot be judged yet/);
    expect(r.reasoning).toMatch(/5 broken/);
  });

  it('reads the JPEG quality of original files and flags heavy compression', async () => {
    const dir = join(tmpdir(), `ds-jpeg-${process.pid}-${Date.now()}`);
    mkdirSync(dir);
    const png = await syntheticImage(11, 1024, 1024);
    writeFileSync(join(dir, 'q30.jpg'), await sharp(png).jpeg({ quality: 30 }).toBuffer());
    writeFileSync(join(dir, 'q92.jpg'), await sharp(png).jpeg({ quality: 92 }).toBuffer());
    writeFileSync(join(dir, 'q92.txt'), 'zxq, full-body, standing');
    const d = dataOf(await app.tools.execute('dataset_analyze', { dir, base_model: 'sd15' }, app.context())) as Analysis;
    expect(d.issues.filter((i) => i.kind === 'jpeg_artifacts').map((i) => i.file)).toEqual(['q30.jpg']);
    // The sidecar caption is read: one full-body image.
    expect(d.categories['full-body']?.count).toBe(1);
    expect(d.resolution_target).toBe(512);
    // The same picture at two qualities is a near duplicate.
    expect(d.duplicates).toEqual([['q30.jpg', 'q92.jpg']]);
  });

  it('stops with CANCELED when the caller aborts', async () => {
    const ac = new AbortController();
    const ctx = { ...app.context('test', ac.signal), progress: () => ac.abort() };
    const r = await app.tools.execute('dataset_analyze', { dir: FIXTURES }, ctx);
    expect(r.success).toBe(false);
    expect(errorOf(r)).toMatchObject({ code: 'CANCELED' });
  });

  it('refuses a folder outside the allowed roots and wants exactly one of lora_id and dir', async () => {
    const r = await app.tools.execute('dataset_analyze', { dir: '/etc' }, app.context());
    expect(r.success).toBe(false);
    expect(errorOf(r)).toMatchObject({ code: 'PATH_NOT_ALLOWED' });
    const both = await app.tools.execute('dataset_analyze', { dir: FIXTURES, lora_id: 'x' }, app.context());
    expect(errorOf(both)).toMatchObject({ code: 'INVALID_INPUT' });
  });
});

describe('dataset_analyze on a project', () => {
  let app: App;
  let home: string;
  let dispose: () => Promise<void>;
  beforeEach(() => ({ app, home, dispose } = makeTestApp()));
  afterEach(async () => dispose());

  const set = (): SeedImage[] => [
    ...Array.from({ length: 12 }, (_, i) => ({ name: `close-${i}.png`, seed: 100 + i, tags: ['close-up'], width: 1024, height: 1024 })),
    ...Array.from({ length: 6 }, (_, i) => ({ name: `mid-${i}.png`, seed: 200 + i, caption: `zxq, medium shot, waving, in a busy city street number ${i}`, width: 1024, height: 1024 })),
    ...Array.from({ length: 2 }, (_, i) => ({ name: `full-${i}.png`, seed: 300 + i, tags: ['full-body', 'two people'], width: 832, height: 1216 })),
  ];

  it('holds the category mix against the default targets and says how many images to add', async () => {
    const p = await makeProject(app, join(home, 'in'), { name: 'hero' }, set());
    const r = await app.tools.execute('dataset_analyze', { lora_id: 'hero' }, app.context());
    expect(r.success).toBe(true);
    const d = dataOf<Analysis>(r);
    // Every image's tags or caption name its framing: the people detector is not asked about any of them.
    expect(d).toMatchObject({ images: 20, analyzed: 20, broken: 0, volume_level: 'good', unclassified: 0, typed_from_pixels: 0 });
    expect(d.categories['close-up']).toEqual({ count: 12, share: 60, target: [30, 40] });
    expect(d.categories['full-body']).toEqual({ count: 2, share: 10, target: [25, 30] });
    expect(d.categories['complex background']?.count).toBe(6);
    expect(d.categories['multi-character']?.count).toBe(2);
    const full = d.gaps.find((g) => g.category === 'full-body');
    // (2 + x) / (20 + x) = 25%  ->  x = 4
    expect(full).toMatchObject({ severity: 'high', direction: 'under', needed: 4 });
    expect(full?.advice).toMatch(/^Full-body is 10% of 20 images against 25-30%: add about 4 full-body images/);
    expect(d.gaps.find((g) => g.category === 'close-up')).toMatchObject({ direction: 'over', severity: 'medium' });
    expect(d.gaps.find((g) => g.category === 'occlusion')).toMatchObject({ severity: 'high', needed: 2 });
    expect(d.gaps.some((g) => g.category === 'medium shot')).toBe(false);
    expect(d.buckets).toEqual({ '1024x1024': 18, '832x1216': 2 });
    expect(r.reasoning).toMatch(/Full-body is 10% of 20 images/);
    expect(r.reasoning).toContain(`dataset_rebalance {"lora_id": "${p.lora_id}"`);
  });

  it('uses targets given per call, and stores them on the project when asked', async () => {
    await makeProject(app, join(home, 'in'), { name: 'hero' }, set());
    const targets = { 'close-up': [50, 70] as [number, number] };
    const d = dataOf(await app.tools.execute('dataset_analyze', { lora_id: 'hero', targets, save_targets: true }, app.context())) as Analysis;
    expect(d.gaps).toEqual([]);
    expect(d.categories['close-up']?.target).toEqual([50, 70]);
    expect(d.categories['full-body']?.target).toBeNull();
    const again = dataOf(await app.tools.execute('dataset_analyze', { lora_id: 'hero' }, app.context())) as Analysis;
    expect(again.categories['close-up']?.target).toEqual([50, 70]);
  });

  it('counts coins and palette families in a coin set and holds each project coin to a share', async () => {
    await makeProject(app, join(home, 'in'), { name: 'coins', asset_type: 'coin', coins: ['SOL', 'ETH'] }, [
      ...Array.from({ length: 5 }, (_, i) => ({ name: `solana-${i}.png`, seed: 30 + i, width: 1024, height: 1024, background: '#f28c28' })),
      { name: 'eth-gold.png', seed: 40, width: 1024, height: 1024, background: '#1e3a8a' },
    ]);
    const d = dataOf(await app.tools.execute('dataset_analyze', { lora_id: 'coins' }, app.context())) as Analysis;
    expect(d.categories['coin:SOL']).toMatchObject({ count: 5, target: [25, 100] });
    expect(d.categories['coin:ETH']).toMatchObject({ count: 1, target: [25, 100] });
    expect(Object.keys(d.categories).some((c) => c.startsWith('palette:'))).toBe(true);
    // No framing targets for coin sets: the only gap is the under-represented coin.
    expect(d.gaps.map((g) => g.category)).toEqual(['coin:ETH']);
    expect(d.gaps[0]?.advice).toMatch(/^ETH coin is 17% of 6 images against 25-100%: add about 1 ETH coin image/);
  });

  it('flags near duplicates, small and dark images in a project', async () => {
    const dir = join(home, 'in');
    await makeProject(app, dir, { name: 'q' }, [{ name: 'a.png', seed: 1, width: 1024, height: 1024 }, { name: 'tiny.png', seed: 2, width: 300, height: 300 }]);
    const a = await sharp(join(dir, 'a.png')).resize(1000, 1000).jpeg({ quality: 85 }).toBuffer();
    writeFileSync(join(dir, 'a-resized.jpg'), a);
    writeFileSync(join(dir, 'dark.png'), await sharp({ create: { width: 1024, height: 1024, channels: 3, background: '#050505' } }).png().toBuffer());
    writeFileSync(join(dir, 'q25.jpg'), await sharp(await syntheticImage(3, 1024, 1024)).jpeg({ quality: 25 }).toBuffer());
    const up = await app.tools.execute(
      'lora_upload_images',
      { lora_id: 'q', images: [{ path: join(dir, 'a-resized.jpg') }, { path: join(dir, 'dark.png') }, { path: join(dir, 'q25.jpg') }] },
      app.context(),
    );
    expect(up.success).toBe(true);
    const d = dataOf(await app.tools.execute('dataset_analyze', { lora_id: 'q' }, app.context())) as Analysis;
    const ids = await app.services.store.loras.listImages(((await app.services.store.loras.find('q'))!).id);
    const idOf = (name: string): string => ids.find((i) => i.file_name === name)!.id;
    expect(d.duplicates).toEqual([[idOf('a.png'), idOf('a-resized.jpg')]]);
    expect(d.issues.filter((i) => i.image_id === idOf('tiny.png')).map((i) => i.kind)).toContain('low_resolution');
    expect(d.issues.filter((i) => i.image_id === idOf('dark.png')).map((i) => i.kind)).toEqual(expect.arrayContaining(['too_dark', 'low_information']));
    // The stored copy is a quality-95 re-encode; the original file on disk tells the real quality.
    expect(d.issues.filter((i) => i.kind === 'jpeg_artifacts').map((i) => i.image_id)).toEqual([idOf('q25.jpg')]);
    expect(d.volume_level).toBe('too_few');
  });
});

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { DEFAULT_TARGETS } from '../../src/dataset/analyze/taxonomy.js';
import { computeRepeats, effectiveShares, repeatsKey } from '../../src/dataset/rebalance.js';
import { makeTestApp } from '../support/app.js';
import { makeProject, type SeedImage } from './helpers.js';
import { dataOf } from '../support/result.js';

describe('computeRepeats', () => {
  it('gives each subset repeats proportional to its target over its count, the most supplied one 1', () => {
    const counts = { 'close-up': 10, 'full-body': 2, 'medium shot': 5, uncategorized: 3 };
    const r = computeRepeats(counts, DEFAULT_TARGETS);
    expect(r).toEqual({ 'close-up': 1, 'full-body': 4, 'medium shot': 2, uncategorized: 1 });
    const eff = effectiveShares(counts, r);
    // 10 / 8 / 10 / 3 image-steps: full-body goes from 10% of the images to 26% of the steps.
    expect(eff['full-body']).toBeCloseTo(25.8, 1);
  });

  it('caps repeats so a tiny subset is not memorised', () => {
    expect(computeRepeats({ 'close-up': 100, 'far/wide': 1 }, DEFAULT_TARGETS, 10)['far/wide']).toBe(10);
  });
});

interface RebalanceData {
  applied: boolean;
  images_before: number;
  images_after: number;
  derivations: Array<{ kind: string; image_id: string; category: string; caption: string; new_image_id?: string }>;
  repeats: Record<string, number>;
  subsets: Record<string, number>;
  collection_profile: { needs: Array<{ category: string; count: number; keywords: string[] }> };
  profile_path?: string;
  notes: string[];
}

describe('dataset_rebalance', () => {
  let app: App;
  let home: string;
  let dispose: () => Promise<void>;
  beforeEach(() => ({ app, home, dispose } = makeTestApp()));
  afterEach(async () => dispose());

  const set = (): SeedImage[] => [
    ...Array.from({ length: 10 }, (_, i) => ({
      name: `full-${i}.png`,
      seed: 400 + i,
      caption: `zxq, full-body, standing on the left of a wooden door, red jacket, pose ${i}`,
      width: 800,
      height: 1400,
    })),
    ...Array.from({ length: 2 }, (_, i) => ({ name: `close-${i}.png`, seed: 500 + i, tags: ['close-up', 'smiling'], width: 1024, height: 1024 })),
  ];

  it('plans crops, repeats and a collection profile without changing anything', async () => {
    const p = await makeProject(app, join(home, 'in'), { name: 'hero' }, set());
    const r = await app.tools.execute('dataset_rebalance', { lora_id: p.lora_id, strategy: 'augment' }, app.context());
    expect(r.success).toBe(true);
    const d = dataOf<RebalanceData>(r);
    expect(d.applied).toBe(false);
    // One crop per full-body shot, each for the framing furthest below its target at that point.
    expect(d.derivations.filter((x) => x.category === 'medium shot')).toHaveLength(5);
    expect(d.derivations.filter((x) => x.category === 'close-up')).toHaveLength(5);
    expect(d.derivations.every((x) => x.kind === 'crop')).toBe(true);
    expect(new Set(d.derivations.map((x) => x.image_id)).size).toBe(10);
    // Medium shots stay at 5 of 22 images (23%), but 2 repeats give them 29% of the steps: no need to collect them.
    expect(d.subsets).toEqual({ 'full-body': 10, 'close-up': 7, 'medium shot': 5 });
    expect(d.repeats).toEqual({ 'full-body': 1, 'close-up': 2, 'medium shot': 2 });
    expect(d.collection_profile.needs.map((n) => n.category)).not.toContain('medium shot');
    expect(d.notes.join(' ')).toMatch(/flips are off/i);
    expect(d.collection_profile.needs.map((n) => n.category)).toEqual(expect.arrayContaining(['multi-character', 'occlusion', 'far/wide']));
    expect(await app.services.store.loras.countImages(p.lora_id)).toBe(12);
    expect(r.reasoning).toMatch(/apply: true/);
  });

  it('with apply, makes the crops as new images with adjusted captions, and the next analysis shows the change', async () => {
    const p = await makeProject(app, join(home, 'in'), { name: 'hero' }, set());
    const before = dataOf(await app.tools.execute('dataset_analyze', { lora_id: p.lora_id }, app.context())) as { categories: Record<string, { count: number }> };
    expect(before.categories['medium shot']?.count).toBe(0);

    const r = await app.tools.execute('dataset_rebalance', { lora_id: p.lora_id, strategy: 'augment', apply: true }, app.context());
    expect(r.success).toBe(true);
    const d = dataOf<RebalanceData>(r);
    expect(d.applied).toBe(true);
    expect(d.images_after).toBe(22);
    const loras = app.services.store.loras;
    const medium = d.derivations.find((x) => x.category === 'medium shot')!;
    const made = (await loras.getImage(medium.new_image_id!))!;
    expect(made.derived_from).toBe(medium.image_id);
    expect(made.caption).toMatch(/^zxq, medium shot, /);
    expect(made.caption).not.toMatch(/full-body/);
    expect(made.caption).toContain('red jacket');
    expect(made.caption).not.toBe((await loras.getImage(medium.image_id))!.caption);
    expect(made.categories).toEqual(['medium shot']);
    expect(made.width).toBe(800);
    expect(made.height).toBe(770);
    const close = (await loras.getImage(d.derivations.find((x) => x.category === 'close-up')!.new_image_id!))!;
    expect(close.caption).toMatch(/^zxq, close-up, /);
    // Repeats are kept for export, and the profile is on disk.
    expect((await app.services.store.kv.get<{ repeats: Record<string, number> }>(repeatsKey(p.lora_id)))?.repeats).toEqual(d.repeats);
    expect(d.repeats['full-body']).toBe(1);
    expect(existsSync(d.profile_path!)).toBe(true);
    const profile = JSON.parse(readFileSync(d.profile_path!, 'utf8')) as RebalanceData['collection_profile'];
    expect(profile.needs.find((n) => n.category === 'multi-character')?.keywords.length).toBeGreaterThan(0);

    const after = dataOf(await app.tools.execute('dataset_analyze', { lora_id: p.lora_id }, app.context())) as {
      images: number;
      categories: Record<string, { count: number }>;
      gaps: Array<{ category: string }>;
    };
    expect(after.images).toBe(22);
    expect(after.categories['medium shot']?.count).toBe(5);
    expect(after.categories['close-up']?.count).toBe(7);
    const gapBefore = (before as unknown as { gaps: Array<{ category: string; needed: number }> }).gaps.find((g) => g.category === 'medium shot')!;
    const gapAfter = (after as unknown as { gaps: Array<{ category: string; needed: number }> }).gaps.find((g) => g.category === 'medium shot')!;
    expect(gapAfter.needed).toBeLessThan(gapBefore.needed);
    // The export uses the repeats by category name.
    const out = join(home, 'bundle');
    const ex = await app.tools.execute('dataset_export', { lora_id: p.lora_id, target: 'kohya', out, repeats: d.repeats }, app.context());
    expect(ex.success).toBe(true);
    const subsets = dataOf<{ subsets: Array<{ name: string; images: number; num_repeats: number }> }>(ex).subsets;
    expect(subsets.find((s) => s.name === 'medium-shot')).toMatchObject({ images: 5, num_repeats: 2 });
    // Without repeats in the call, the export (and so kohya training) uses the ones the applied plan stored.
    const again = await app.tools.execute('dataset_export', { lora_id: p.lora_id, target: 'kohya', out: join(home, 'bundle2') }, app.context());
    const subsets2 = dataOf<{ subsets: Array<{ name: string; num_repeats: number }> }>(again).subsets;
    expect(subsets2.map((s) => [s.name, s.num_repeats])).toEqual(subsets.map((s) => [s.name, s.num_repeats]));
  });

  it('flips only when allowed, swapping left and right in the caption', async () => {
    const p = await makeProject(app, join(home, 'in'), { name: 'hero' }, [
      ...set(),
      ...[0, 1].map((i) => ({ name: `pair-${i}.png`, seed: 600 + i, caption: `zxq, close-up, two people talking, friend on the left, scene ${i}`, width: 1024, height: 1024 })),
    ]);
    const r = await app.tools.execute('dataset_rebalance', { lora_id: p.lora_id, strategy: 'augment', allow_flips: true, apply: true, max_new_images: 12 }, app.context());
    const d = dataOf<RebalanceData>(r);
    const flips = d.derivations.filter((x) => x.kind === 'flip');
    expect(flips.length).toBeGreaterThan(0);
    expect(flips.length + d.derivations.filter((x) => x.kind === 'crop').length).toBeLessThanOrEqual(12);
    const f = (await app.services.store.loras.getImage(flips[0]!.new_image_id!))!;
    expect(flips.map((x) => x.category)).toEqual(['multi-character', 'multi-character']);
    expect(f.caption).toContain('friend on the right');
    expect(f.caption).toContain('mirrored view');
  });

  it('strategy repeats changes no images but stores repeats', async () => {
    const p = await makeProject(app, join(home, 'in'), { name: 'hero' }, set());
    const d = dataOf(await app.tools.execute('dataset_rebalance', { lora_id: p.lora_id, strategy: 'repeats', apply: true }, app.context())) as RebalanceData;
    expect(d.derivations).toEqual([]);
    expect(d.repeats).toEqual({ 'full-body': 1, 'close-up': 6 });
    expect(await app.services.store.loras.countImages(p.lora_id)).toBe(12);
    // Images got their categories stored, so the export's subsets match the repeats.
    expect((await app.services.store.loras.listImages(p.lora_id)).every((i) => i.categories !== null)).toBe(true);
  });
});

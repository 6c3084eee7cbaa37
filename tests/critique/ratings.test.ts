import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { makeTestApp } from '../support/app.js';
import { backendCover } from './helpers.js';
import { dataOf, errorOf } from '../support/result.js';

interface RateData {
  set: string;
  previous_set: string;
  mean_stars: number;
  raters: number;
  lora: string | null;
  stats: { lora: { ratings: number; positive: number; negative: number } | null; checkpoint: { mean_stars: number } | null; coin: { key: string } | null };
}

describe('cover_rate', () => {
  let app: App;
  let dispose: () => Promise<void>;
  beforeAll(() => {
    ({ app, dispose } = makeTestApp());
  });
  afterAll(async () => dispose());
  const rate = async (input: Record<string, unknown>) => app.tools.execute('cover_rate', input, app.context());

  it('moves a cover between its LoRA\'s positive and negative sets as ratings change', async () => {
    const cover = await backendCover(app, { lora: 'sol-style', checkpoint: 'dreamshaper_8.safetensors' });
    let r = await rate({ cover_id: cover.id, stars: 5, rater: 'ana' });
    expect(dataOf(r)).toMatchObject({ set: 'positive', previous_set: 'none', mean_stars: 5, lora: 'sol-style' });
    expect(r.reasoning).toMatch(/now in sol-style's positive set/);
    expect((await app.services.store.ratings.feedback('sol-style', 'positive')).map((f) => f.cover_id)).toEqual([cover.id]);

    // The same rater changes their mind: the newest rating replaces the old one.
    r = await rate({ cover_id: cover.id, stars: 2, rater: 'ana', comment: 'logo too small' });
    expect(dataOf(r)).toMatchObject({ set: 'negative', previous_set: 'positive', raters: 1 });
    expect(await app.services.store.ratings.feedback('sol-style', 'positive')).toEqual([]);
    expect((await app.services.store.ratings.feedback('sol-style', 'negative'))[0]).toMatchObject({ cover_id: cover.id, blob_path: cover.blob_path });

    // A second rater: mean 3.5 is neither set.
    r = await rate({ cover_id: cover.id, stars: 5, rater: 'bo' });
    expect(dataOf(r)).toMatchObject({ set: 'none', previous_set: 'negative', raters: 2, mean_stars: 3.5 });
    expect(await app.services.store.ratings.feedback('sol-style')).toEqual([]);

    // 4 stars counts as positive (documented choice: >= 4).
    r = await rate({ cover_id: cover.id, stars: 4, rater: 'ana' });
    expect(dataOf(r)).toMatchObject({ set: 'positive', mean_stars: 4.5 });
  });

  it('feeds checkpoint learning once per rater and reports stats per LoRA, coin and checkpoint', async () => {
    const a = await backendCover(app, { lora: 'eth-style', checkpoint: 'juggernaut.safetensors', coin: 'ETH', seed: 2 });
    const b = await backendCover(app, { lora: 'eth-style', checkpoint: 'juggernaut.safetensors', coin: 'ETH', seed: 3 });
    await rate({ cover_id: a.id, stars: 5, rater: 'ana' });
    await rate({ cover_id: a.id, stars: 1, rater: 'ana' });
    const r = await rate({ cover_id: b.id, stars: 4, rater: 'ana' });
    const stat = (await app.services.store.generation.stats('checkpoint')).find((s) => s.arm === 'juggernaut.safetensors');
    expect(stat).toMatchObject({ selected: 1, total: 2 });
    const combo = (await app.services.store.generation.stats('lora_combo', 'ETH')).find((s) => s.arm === 'eth-style');
    expect(combo).toMatchObject({ selected: 1, total: 2 });
    const d = dataOf<RateData>(r);
    expect(d.stats.lora).toMatchObject({ ratings: 2, positive: 1, negative: 1 });
    expect(d.stats.checkpoint).toMatchObject({ mean_stars: 2.5 });
    expect(d.stats.coin).toMatchObject({ key: 'ETH' });
  });

  it('rates a cover made without a LoRA without putting it in any set', async () => {
    const made = await app.tools.execute('cover_generate', { title: 'Bitcoin slides below $90K', seed: 1 }, app.context());
    const r = await rate({ cover_id: dataOf<{ cover_id: string }>(made).cover_id, stars: 5 });
    expect(dataOf(r)).toMatchObject({ set: 'none', lora: null });
    expect(r.reasoning).toMatch(/without a LoRA/);
  });

  it('refuses out-of-range stars and unknown covers', async () => {
    expect((await rate({ cover_id: 'x', stars: 6 })).success).toBe(false);
    const missing = await rate({ cover_id: 'cov_nope', stars: 3 });
    expect(errorOf(missing).code).toBe('NOT_FOUND');
  });
});

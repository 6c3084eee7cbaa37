/** Auto-LoRA ranking over a real registry (SQLite store), through lora_discover. */
import { afterEach, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { keywords, stem } from '../../src/cover/discover.js';
import { makeTestApp } from '../support/app.js';
import { dataOf } from '../support/result.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function addLora(app: App, l: { name: string; base: 'sd15' | 'sdxl' | 'flux'; asset: string; trigger: string; coins?: string[]; description?: string; tags?: Record<string, number>; ready?: boolean }) {
  const s = app.services.store;
  const rec = await s.loras.create({ name: l.name, base_model: l.base, asset_type: l.asset, trigger_word: l.trigger, coins: l.coins ?? [], description: l.description ?? null });
  if (l.ready === false) return;
  const inspection = { metadata: l.tags ? { ss_tag_frequency: JSON.stringify({ [`10_${l.name}`]: l.tags }) } : {}, trigger_words: [l.trigger], tags: Object.keys(l.tags ?? {}) };
  const v = await s.loras.addVersion({ lora_id: rec.id, status: 'ready', file_sha256: null, file_path: null, file_bytes: null, inspection, params: {}, job_id: null, backend: 'import', remote_version: null, weights_url: null });
  await s.loras.update(rec.id, { active_version: v.version, status: 'ready' });
}

async function registry(): Promise<App> {
  const t = makeTestApp();
  cleanups.push(t.dispose);
  const app = t.app;
  await addLora(app, { name: 'neon-city', base: 'sd15', asset: 'style', trigger: 'neoncty', description: 'Neon cyberpunk city skyline at night', tags: { neon: 40, city: 30, skyline: 20, night: 25, rain: 5 } });
  await addLora(app, { name: 'solana-coin', base: 'sd15', asset: 'coin', trigger: 'solana_logo', coins: ['SOL'], tags: { 'solana coin': 30, gradient: 10 } });
  await addLora(app, { name: 'bull-market', base: 'sd15', asset: 'style', trigger: 'bullrun', tags: { bull: 50, 'green candles': 20, chart: 40 } });
  await addLora(app, { name: 'sdxl-neon', base: 'sdxl', asset: 'style', trigger: 'neonxl', description: 'neon city skyline', tags: { neon: 40, city: 40 } });
  await addLora(app, { name: 'detail-tweaker', base: 'sd15', asset: 'style', trigger: 'detailed', tags: { photo: 100, detailed: 90, 'high quality': 80 } });
  await addLora(app, { name: 'night-owl', base: 'sd15', asset: 'character', trigger: 'owlchar', tags: { owl: 10 }, ready: false });
  return app;
}

describe('lora_discover', () => {
  it('stems and drops stop words and generic image words', () => {
    expect(stem('miners')).toBe(stem('miner'));
    expect(stem('rallying')).toBe(stem('rally'));
    expect(stem('cities')).toBe('city');
    expect(keywords('A detailed photo of the Solana bulls, high quality')).toEqual(['solana', 'bull']);
  });

  it('ranks the LoRAs of the base model by keyword evidence, with strengths 0.8 down to 0.5', async () => {
    const app = await registry();
    const r = await app.tools.execute('lora_discover', { prompt: 'Solana bulls charge through a neon city skyline at night, detailed photo', base_model: 'sd15' }, app.context());
    expect(r.success, r.reasoning).toBe(true);
    const d = dataOf(r) as { loras: Array<{ name: string; strength: number; evidence: string[]; trigger_words: string[] }>; skipped_base_model: string[]; keywords: string[] };
    expect(d.loras.map((l) => l.name)).toEqual(['neon-city', 'solana-coin', 'bull-market']);
    expect(d.loras[0]?.strength).toBe(0.8);
    for (const l of d.loras) {
      expect(l.strength).toBeGreaterThanOrEqual(0.5);
      expect(l.strength).toBeLessThanOrEqual(0.8);
      expect(l.evidence.length).toBeGreaterThan(0);
    }
    const strengths = d.loras.map((l) => l.strength);
    expect([...strengths].sort((a, b) => b - a)).toEqual(strengths);
    expect(d.loras[0]?.evidence.join(' ')).toMatch(/neon/);
    expect(d.loras[1]?.evidence.join(' ')).toMatch(/coin "(SOL|Solana)"|trigger word "solana_logo"/);
    // Wrong family left out and reported; generic words never select the detail LoRA; no usable version, no entry.
    expect(d.skipped_base_model).toEqual(['sdxl-neon']);
    expect(d.loras.map((l) => l.name)).not.toContain('detail-tweaker');
    expect(d.keywords).not.toContain('detail');
  });

  it('takes the other family when asked, honours max, and finds nothing for an unrelated prompt', async () => {
    const app = await registry();
    const xl = await app.tools.execute('lora_discover', { prompt: 'neon city', base_model: 'sdxl', max: 1 }, app.context());
    expect(dataOf<{ loras: Array<{ name: string }> }>(xl).loras.map((l) => l.name)).toEqual(['sdxl-neon']);
    const none = await app.tools.execute('lora_discover', { prompt: 'owl in a forest' }, app.context());
    expect(dataOf<{ loras: unknown[] }>(none).loras).toEqual([]);
    expect(none.reasoning).toContain('No registered LoRA matches');
  });
});

import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { critiqueCover } from '../../src/critique/index.js';
import { makeTestApp } from '../support/app.js';
import { wrongLogoCover } from './helpers.js';
import { dataOf, errorOf } from '../support/result.js';

interface CritiqueData {
  score: number;
  checks: Array<{ name: string; passed: boolean; value: number | null; detail: string }>;
  vision: { status: string };
  disagreements: string[];
}

const check = (d: CritiqueData, name: string) => d.checks.find((c) => c.name === name);

describe('cover_critique (metric critic)', () => {
  let app: App;
  let home: string;
  let dispose: () => Promise<void>;
  beforeAll(() => {
    ({ app, home, dispose } = makeTestApp());
  });
  afterAll(async () => dispose());

  it('passes the logo check of a correct Solana cover', async () => {
    const made = await app.tools.execute('cover_generate', { title: 'Solana ETF inflows hit $1B', seed: 3 }, app.context());
    expect(made.success).toBe(true);
    const r = await app.tools.execute('cover_critique', { cover_id: dataOf<{ cover_id: string }>(made).cover_id }, app.context());
    expect(r.success).toBe(true);
    const d = dataOf<CritiqueData>(r);
    expect(check(d, 'logo')).toMatchObject({ passed: true });
    expect(check(d, 'logo')!.value!).toBeGreaterThan(0.9);
    expect(d.score).toBeGreaterThanOrEqual(0.8);
    expect(d.vision.status).toBe('skipped');
    expect(r.reasoning).toMatch(/SOL logo is in the logo box/);
  });

  it('fails a Solana cover whose logo box holds the Bitcoin logo, and names Bitcoin', async () => {
    const cover = await wrongLogoCover(app, { symbol: 'BTC', name: 'Bitcoin' });
    const r = await app.tools.execute('cover_critique', { cover_id: cover.id }, app.context());
    const d = dataOf<CritiqueData>(r);
    const logo = check(d, 'logo')!;
    expect(logo.passed).toBe(false);
    expect(logo.detail).toMatch(/holds the BTC logo/);
    expect(d.score).toBeLessThanOrEqual(0.3);
  });

  it('finds the wrong logo anywhere in a raw image (no cover record)', async () => {
    const cover = await wrongLogoCover(app, { symbol: 'ETH', name: 'Ethereum' }, 5);
    const file = join(home, 'raw-eth.png');
    copyFileSync(cover.blob_path, file);
    const wrong = await critiqueCover(app.services, file, { coin: 'SOL' });
    expect(wrong.cover_id).toBeNull();
    expect(wrong.checks.find((c) => c.name === 'logo')).toMatchObject({ passed: false });
    expect(wrong.checks.find((c) => c.name === 'logo')!.detail).toMatch(/ETH 0\.9\d at/);
    const right = await critiqueCover(app.services, file, { coin: 'ETH' });
    expect(right.checks.find((c) => c.name === 'logo')).toMatchObject({ passed: true });
    // Text checks need the record; a raw file gets only the pixel checks.
    expect(right.checks.map((c) => c.name).sort()).toEqual(['logo', 'near_duplicate', 'palette_novelty', 'sharpness']);
  });

  it('flags a blurred copy as soft and an exact copy as a near-duplicate', async () => {
    const made = await app.tools.execute('cover_generate', { title: 'Dogecoin jumps 20% on Musk post', seed: 8 }, app.context());
    const path = dataOf<{ path: string }>(made).path;
    const blurred = join(home, 'blurred.png');
    writeFileSync(blurred, await sharp(path).blur(6).png().toBuffer());
    const soft = await critiqueCover(app.services, blurred, { coin: 'DOGE' });
    expect(soft.checks.find((c) => c.name === 'sharpness')).toMatchObject({ passed: false });
    const copy = join(home, 'copy.png');
    writeFileSync(copy, await sharp(path).png({ compressionLevel: 9 }).toBuffer());
    const dup = await critiqueCover(app.services, copy, { coin: 'DOGE' });
    expect(dup.checks.find((c) => c.name === 'near_duplicate')).toMatchObject({ passed: false, value: 0 });
    expect(dup.checks.find((c) => c.name === 'palette_novelty')).toMatchObject({ passed: false });
    expect(dup.checks.find((c) => c.name === 'sharpness')).toMatchObject({ passed: true });
  });

  it('says what to give when neither or both of cover_id and path are given, and refuses unknown covers', async () => {
    const none = await app.tools.execute('cover_critique', {}, app.context());
    expect(none.success).toBe(false);
    expect(none.reasoning).toMatch(/exactly one of cover_id or path/);
    const missing = await app.tools.execute('cover_critique', { cover_id: 'cov_00000000-0000-0000-0000-000000000000' }, app.context());
    expect(errorOf(missing).code).toBe('NOT_FOUND');
    const outside = await app.tools.execute('cover_critique', { path: '/etc/hostname' }, app.context());
    expect(errorOf(outside).code).toBe('PATH_NOT_ALLOWED');
  });

  it('refuses vision "required" without a model, naming OPENAI_API_KEY', async () => {
    const made = await app.tools.execute('cover_generate', { title: 'XRP lawsuit ends', seed: 4 }, app.context());
    const r = await app.tools.execute('cover_critique', { cover_id: dataOf<{ cover_id: string }>(made).cover_id, vision: 'required' }, app.context());
    expect(r.success).toBe(false);
    expect(r.reasoning).toMatch(/OPENAI_API_KEY/);
  });
});

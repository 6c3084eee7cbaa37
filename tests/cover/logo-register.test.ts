import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTestApp } from '../support/app.js';
import { dataOf, errorOf } from '../support/result.js';

let t: ReturnType<typeof makeTestApp>;
beforeAll(() => {
  t = makeTestApp();
});
afterAll(() => t.dispose());

const call = (name: string, input: unknown) => t.app.tools.execute(name, input, t.app.context());

describe('logo_register', () => {
  it('a registered logo replaces the monogram of a coin the icon set lacks, from then on', async () => {
    // HYPE (Hyperliquid) has no icon in cryptocurrency-icons: covers get a monogram until a logo is registered.
    const before = await call('cover_generate', { title: 'Hyperliquid (HYPE) volume hits a record', seed: 1 });
    expect(before.success).toBe(true);
    expect(dataOf<{ logo: { source: string } }>(before).logo.source).toBe('monogram');
    expect(before.reasoning).toMatch(/monogram/);

    const svg = join(t.home, 'hype.svg');
    writeFileSync(svg, '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="#00ff88"/></svg>');
    const reg = await call('logo.register', { symbol: '$hype', path: svg });
    expect(reg.success, reg.reasoning).toBe(true);
    expect(dataOf(reg)).toMatchObject({ symbol: 'HYPE', mime_type: 'image/svg+xml', known_coin: true });

    const after = await call('cover_generate', { title: 'Hyperliquid (HYPE) volume hits a record', seed: 1 });
    const d = dataOf(after) as { path: string; logo: { source: string; box: { x: number; y: number; width: number; height: number } } };
    expect(d.logo.source).toBe('user');
    // The logo box now shows the registered logo's green.
    const { x, y, width, height } = d.logo.box;
    const mid = await sharp(d.path)
      .extract({ left: Math.round(x + width / 2) - 2, top: Math.round(y + height / 2) - 2, width: 4, height: 4 })
      .raw()
      .toBuffer();
    expect(mid[1]).toBeGreaterThan(150);
    expect(mid[0]).toBeLessThan(120);
  });

  it('refuses a file that is not an SVG or PNG, and a path outside the allowed roots', async () => {
    const txt = join(t.home, 'logo.txt');
    writeFileSync(txt, 'not an image');
    const bad = await call('logo_register', { symbol: 'SOL', path: txt });
    expect(bad.success).toBe(false);
    expect(errorOf(bad).code).toBe('UNSUPPORTED_IMAGE');
    const outside = await call('logo_register', { symbol: 'SOL', path: '/etc/hostname' });
    expect(errorOf(outside).code).toBe('PATH_NOT_ALLOWED');
  });
});

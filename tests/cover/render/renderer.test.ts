import { Resvg } from '@resvg/resvg-js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { isLoraloopError } from '../../../src/core/errors.js';
import { composeCover } from '../../../src/cover/render/compose.js';
import { choosePalette, isDarkPalette, paletteDistance } from '../../../src/image/palette.js';
import {
  createCoverRenderer,
  hasIcon,
  type Box,
  type RenderInput,
  type RenderOutput,
} from '../../../src/cover/render/renderer.js';

const renderer = createCoverRenderer();
const BTC = { symbol: 'BTC', name: 'Bitcoin' };
const iconsDir = dirname(createRequire(import.meta.url).resolve('cryptocurrency-icons/manifest.json'));
const base: RenderInput = {
  title: 'Bitcoin surges past $100,000 as spot ETF inflows hit a record',
  subtitle: 'Analysts see the rally extending into the next quarter',
  width: 1200,
  height: 630,
  seed: 1,
  coin: BTC,
};

beforeAll(async () => {
  await renderer.warmup();
});

async function rgbOf(png: Buffer): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

/** The icon rendered alone at the box size: RGBA, straight alpha. */
function iconAlone(symbol: string, size: number): Uint8Array {
  const svg = readFileSync(join(iconsDir, 'svg', 'color', `${symbol.toLowerCase()}.svg`), 'utf8');
  const img = new Resvg(svg, { fitTo: { mode: 'width', value: size } }).render();
  return img.pixels;
}

/**
 * Compare the cover's pixels inside `box` with an icon rendered alone, over the icon's opaque pixels only
 * (the corners of a round icon show background). Returns the Pearson correlation of luminance and the mean
 * absolute RGB difference.
 */
async function matchIcon(out: RenderOutput, symbol: string): Promise<{ corr: number; meanDiff: number }> {
  const box = out.logo!.box;
  const cover = await rgbOf(out.png);
  const icon = iconAlone(symbol, box.width);
  const xs: number[] = [];
  const ys: number[] = [];
  let diff = 0;
  for (let y = 0; y < box.height; y++) {
    for (let x = 0; x < box.width; x++) {
      const ii = (y * box.width + x) * 4;
      if (icon[ii + 3]! < 250) continue;
      const ci = ((box.y + y) * cover.width + (box.x + x)) * 3;
      const lc = 0.3 * cover.data[ci]! + 0.59 * cover.data[ci + 1]! + 0.11 * cover.data[ci + 2]!;
      const li = 0.3 * icon[ii]! + 0.59 * icon[ii + 1]! + 0.11 * icon[ii + 2]!;
      xs.push(lc);
      ys.push(li);
      diff +=
        (Math.abs(cover.data[ci]! - icon[ii]!) + Math.abs(cover.data[ci + 1]! - icon[ii + 1]!) + Math.abs(cover.data[ci + 2]! - icon[ii + 2]!)) / 3;
    }
  }
  const n = xs.length;
  const mx = xs.reduce((s, v) => s + v, 0) / n;
  const my = ys.reduce((s, v) => s + v, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
    syy += (ys[i]! - my) ** 2;
  }
  return { corr: sxy / Math.sqrt(sxx * syy), meanDiff: diff / n };
}

function inside(b: Box, w: number, h: number, margin = 0): boolean {
  return b.x >= margin && b.y >= margin && b.x + b.width <= w - margin && b.y + b.height <= h - margin;
}

describe('sizes and determinism', () => {
  it.each([
    [1200, 630],
    [1024, 1024],
    [1080, 1350],
    [900, 700],
  ])('renders %ix%i as a PNG of that size', async (width, height) => {
    const out = await renderer.render({ ...base, width, height, seed: 3 });
    const meta = await sharp(out.png).metadata();
    expect(meta.format).toBe('png');
    expect([meta.width, meta.height]).toEqual([width, height]);
    expect([out.width, out.height]).toEqual([width, height]);
    expect(inside(out.text_box, width, height, 8)).toBe(true);
    expect(out.logo).not.toBeNull();
    expect(inside(out.logo!.box, width, height)).toBe(true);
  });

  it('gives byte-identical PNGs for the same seed and a different cover for another seed', async () => {
    const a = await renderer.render({ ...base, seed: 11 });
    const b = await renderer.render({ ...base, seed: 11 });
    expect(Buffer.compare(a.png, b.png)).toBe(0);
    const c = await renderer.render({ ...base, seed: 12 });
    expect(Buffer.compare(a.png, c.png)).not.toBe(0);
    // Different in a way a person sees, not just a few bytes: style or palette differ.
    expect(c.style !== a.style || paletteDistance(a.palette, c.palette) > 0.05).toBe(true);
  });

  it('rejects an impossible size with a typed error', async () => {
    const err = await renderer.render({ ...base, width: 10 }).catch((e: unknown) => e);
    expect(isLoraloopError(err) && err.code).toBe('INVALID_INPUT');
  });
});

describe('logo', () => {
  it('draws the coin\u2019s own icon in logo.box (and not another coin\u2019s), in every logo style', async () => {
    const seen = new Set<string>();
    for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
      const out = await renderer.render({ ...base, seed });
      expect(out.logo?.source).toBe('icon-set');
      expect(out.logo?.symbol).toBe('BTC');
      if (seen.has(out.logo!.style)) continue;
      seen.add(out.logo!.style);
      const own = await matchIcon(out, 'BTC');
      const other = await matchIcon(out, 'ETH');
      expect(own.corr, `style ${out.logo!.style}`).toBeGreaterThan(0.9);
      expect(own.meanDiff, `style ${out.logo!.style}`).toBeLessThan(40);
      // ETH is also a white mark on a round disc, so shapes correlate a little; colours do not.
      expect(other.corr).toBeLessThan(own.corr - 0.25);
      expect(other.meanDiff).toBeGreaterThan(own.meanDiff + 40);
    }
    expect(seen.size).toBeGreaterThanOrEqual(3);
  });

  it('draws a monogram badge in the brand colour for a coin without an icon', async () => {
    expect(hasIcon('TON')).toBe(false);
    expect(hasIcon('btc')).toBe(true);
    const out = await renderer.render({
      ...base,
      title: 'Toncoin rallies after the wallet integration',
      coin: { symbol: 'TON', name: 'Toncoin', brand_color: '#0098ea' },
      seed: 5,
    });
    expect(out.logo?.source).toBe('monogram');
    // The badge's dominant colour is the brand blue.
    const { data, width } = await rgbOf(out.png);
    const b = out.logo!.box;
    let blue = 0;
    let n = 0;
    for (let y = b.y + b.height * 0.2; y < b.y + b.height * 0.8; y += 4) {
      for (let x = b.x + b.width * 0.2; x < b.x + b.width * 0.8; x += 4) {
        const i = (Math.round(y) * width + Math.round(x)) * 3;
        n++;
        if (data[i + 2]! > data[i]! + 60 && data[i + 2]! > 120) blue++;
      }
    }
    expect(blue / n).toBeGreaterThan(0.4);
  });

  it('uses a registered logo over the icon set, and falls back with a warning when it is broken', async () => {
    const userSvg = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><rect width="10" height="10" fill="#00ff00"/></svg>',
    );
    const out = await renderer.render({ ...base, userLogo: userSvg, seed: 21 });
    expect(out.logo?.source).toBe('user');
    const { data, width } = await rgbOf(out.png);
    const b = out.logo!.box;
    const i = (Math.round(b.y + b.height / 2) * width + Math.round(b.x + b.width / 2)) * 3;
    expect(data[i + 1]).toBeGreaterThan(200);
    expect(data[i]).toBeLessThan(90);

    const png = await sharp({ create: { width: 64, height: 64, channels: 4, background: '#ff00ff' } }).png().toBuffer();
    const fromPng = await renderer.render({ ...base, userLogo: png, seed: 21 });
    expect(fromPng.logo?.source).toBe('user');

    const broken = await renderer.render({ ...base, userLogo: Buffer.from('not an image'), seed: 21 });
    expect(broken.logo?.source).toBe('icon-set');
    expect(broken.warnings.join(' ')).toMatch(/registered logo/);
  });

  it('draws no logo without a coin', async () => {
    const out = await renderer.render({ ...base, coin: null, title: 'Markets wobble as the Fed holds rates' });
    expect(out.logo).toBeNull();
  });
});

describe('title and contrast', () => {
  it('keeps 4.5:1 on dark and light palettes and on busy patterns', async () => {
    const seeds = Array.from({ length: 200 }, (_, s) => s);
    const dark = seeds.find((s) => isDarkPalette(choosePalette('#f7931a', s).palette))!;
    const light = seeds.find((s) => !isDarkPalette(choosePalette('#f7931a', s).palette))!;
    for (const [seed, style] of [
      [dark, 'hexagons'],
      [light, 'grid'],
      [light, 'mesh'],
      [dark, 'stripes'],
    ] as const) {
      const out = await renderer.render({ ...base, seed, style });
      expect(out.style).toBe(style);
      expect(out.contrast, `${style} seed ${seed}`).toBeGreaterThanOrEqual(4.5);
    }
  });

  it('adds a scrim on a white image and a black/white checkerboard, and measures it', async () => {
    const white = await sharp({ create: { width: 400, height: 300, channels: 3, background: '#ffffff' } }).png().toBuffer();
    const checker = await sharp(
      Buffer.from(
        `<svg xmlns="http://www.w3.org/2000/svg" width="400" height="300"><defs><pattern id="p" width="20" height="20" patternUnits="userSpaceOnUse"><rect width="10" height="10"/><rect x="10" y="10" width="10" height="10"/></pattern></defs><rect width="400" height="300" fill="#fff"/><rect width="400" height="300" fill="url(#p)"/></svg>`,
      ),
    )
      .png()
      .toBuffer();
    for (const bg of [white, checker]) {
      const out = await renderer.compose(bg, { ...base, seed: 4 });
      expect(out.style).toBe('external');
      expect(out.contrast).toBeGreaterThanOrEqual(4.5);
    }
  });

  it('survives long, emoji, CJK, Cyrillic and empty titles without cutting text off', async () => {
    const long = await renderer.render({
      ...base,
      title: 'Regulators, exchanges and developers clash over '.repeat(6) + 'the future of staking',
      seed: 8,
    });
    expect(inside(long.text_box, 1200, 630, 8)).toBe(true);
    expect(long.warnings.filter((w) => /shortened/.test(w))).toEqual([]);

    const mixed = await renderer.render({ ...base, title: 'Биткоин 🚀 растёт 比特币 Ωmega', seed: 8 });
    expect(mixed.warnings.join(' ')).toMatch(/no glyphs/);
    expect(mixed.warnings.join(' ')).toContain('🚀');
    expect(mixed.warnings.join(' ')).toContain('比');
    expect(mixed.warnings.join(' ')).not.toContain('Б'); // Cyrillic is in the shipped fonts
    expect(mixed.text_box.width).toBeGreaterThan(100);

    const onlyCjk = await renderer.render({ ...base, title: '比特币价格创新高', subtitle: undefined, seed: 8 });
    expect(onlyCjk.warnings.join(' ')).toMatch(/coin name was used/);

    const empty = await renderer.render({ ...base, title: '   ', coin: null, seed: 8 });
    expect(empty.warnings.join(' ')).toMatch(/title was empty/);
    expect((await sharp(empty.png).metadata()).width).toBe(1200);
  });

  it('shortens an absurdly long title with an ellipsis only as a last resort, and says so', async () => {
    const out = await renderer.render({ ...base, title: 'word '.repeat(800), width: 1024, height: 1024, seed: 2 });
    expect(out.warnings.join(' ')).toMatch(/shortened with an ellipsis/);
    expect(inside(out.text_box, 1024, 1024, 8)).toBe(true);
  });

  it('never crashes on odd input: missing title, blank symbol, NaN seed, huge title, bad recent palettes', async () => {
    const odd = [
      { ...base, title: undefined as unknown as string, seed: Number.NaN },
      { ...base, coin: { symbol: '  ', name: '' } },
      { ...base, title: 'x'.repeat(20_000), width: 256, height: 256 },
      { ...base, recentPalettes: [{ colors: [] as string[], scheme: '' }, { colors: ['nothex'], scheme: '' }] },
    ];
    for (const input of odd) {
      const out = await renderer.render(input);
      expect((await sharp(out.png).metadata()).width).toBe(input.width);
      expect(inside(out.text_box, input.width, input.height)).toBe(true);
    }
  });

  it('warns about an unknown style and honours a known one', async () => {
    const out = await renderer.render({ ...base, style: 'sparkles', seed: 9 });
    expect(out.warnings.join(' ')).toMatch(/Unknown background style/);
    expect(renderer.backgroundStyles).toContain(out.style);
    expect(renderer.backgroundStyles.length).toBeGreaterThanOrEqual(10);
  });
});

describe('variety through the renderer', () => {
  it('passes recent palettes to the variety engine', async () => {
    const first = await renderer.render({ ...base, width: 256, height: 256, seed: 30 });
    const again = await renderer.render({ ...base, width: 256, height: 256, seed: 30, recentPalettes: [first.palette] });
    expect(paletteDistance(first.palette, again.palette)).toBeGreaterThan(0.1);
  });
});

describe('composeCover on another backend\u2019s image', () => {
  it('fills the target size with the image and puts logo and title on it', async () => {
    const photo = await sharp({ create: { width: 800, height: 800, channels: 3, background: '#204080' } }).jpeg().toBuffer();
    const out = await composeCover(photo, { ...base, seed: 6 }, renderer);
    expect(out.style).toBe('external');
    expect(out.palette.scheme).toBe('extracted');
    const { data, width } = await rgbOf(out.png);
    const corner = (5 * width + 5) * 3;
    expect([data[corner], data[corner + 1], data[corner + 2]].map((v) => Math.round(v! / 16))).toEqual([2, 4, 8]);
    expect(out.logo?.source).toBe('icon-set');
  });

  it('falls back to a generated background when the image cannot be decoded', async () => {
    const out = await renderer.compose(Buffer.from('garbage'), { ...base, seed: 6 });
    expect(out.style).not.toBe('external');
    expect(out.warnings.join(' ')).toMatch(/background image could not be decoded/);
  });
});

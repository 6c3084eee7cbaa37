import { describe, expect, it } from 'vitest';
import {
  DEFAULT_MIN_PALETTE_DISTANCE,
  choosePalette,
  extractPalette,
  isDarkPalette,
  paletteDistance,
  type Palette,
} from '../../../src/image/palette.js';
import { contrastRatio, hexToRgb, relativeLuminance } from '../../../src/image/color.js';

const BTC_ORANGE = '#f7931a';

describe('paletteDistance', () => {
  const a: Palette = { colors: ['#101020', '#303060', '#f7931a', '#ffe0b0'], scheme: 'x' };
  it('is zero for the same colours in the same roles, whatever the scheme label', () => {
    expect(paletteDistance(a, a)).toBe(0);
    expect(paletteDistance(a, { colors: [...a.colors], scheme: 'other' })).toBe(0);
  });
  it('weighs the base colour most: swapping base and accent is a different cover', () => {
    const swapped: Palette = { colors: ['#f7931a', '#303060', '#101020', '#ffe0b0'], scheme: 'x' };
    expect(paletteDistance(a, swapped)).toBeGreaterThan(0.1);
  });
  it('is symmetric and grows with visible difference', () => {
    const near: Palette = { colors: ['#121222', '#323262', '#f7931a', '#ffe0b0'], scheme: 'x' };
    const far: Palette = { colors: ['#f0f4ff', '#c8e0ff', '#f7931a', '#205080'], scheme: 'y' };
    expect(paletteDistance(a, far)).toBeCloseTo(paletteDistance(far, a), 12);
    expect(paletteDistance(a, near)).toBeLessThan(0.02);
    expect(paletteDistance(a, far)).toBeGreaterThan(0.2);
  });
});

describe('choosePalette (variety engine)', () => {
  it('is deterministic for a seed and differs across seeds', () => {
    const x = choosePalette(BTC_ORANGE, 42).palette;
    expect(choosePalette(BTC_ORANGE, 42).palette).toEqual(x);
    const others = [1, 2, 3, 4, 5].map((s) => choosePalette(BTC_ORANGE, s).palette);
    expect(others.some((p) => paletteDistance(p, x) > 0.05)).toBe(true);
  });

  it('keeps the brand colour as the accent and 3-5 valid hex colours', () => {
    for (let s = 0; s < 20; s++) {
      const p = choosePalette(BTC_ORANGE, s).palette;
      expect(p.colors.length).toBeGreaterThanOrEqual(3);
      expect(p.colors.length).toBeLessThanOrEqual(5);
      for (const c of p.colors) expect(c).toMatch(/^#[0-9a-f]{6}$/);
      expect(paletteDistance({ colors: [p.colors[2]!], scheme: '' }, { colors: [BTC_ORANGE], scheme: '' })).toBeLessThan(0.08);
    }
  });

  it('moves away from the recent palettes', () => {
    const recent = [choosePalette(BTC_ORANGE, 7).palette];
    // Same seed, but told what was used last time: it must pick something else.
    const next = choosePalette(BTC_ORANGE, 7, { recent });
    expect(next.clearedThreshold).toBe(true);
    expect(paletteDistance(next.palette, recent[0]!)).toBeGreaterThan(DEFAULT_MIN_PALETTE_DISTANCE);
  });

  /**
   * The variety goal: 100 covers in a row for one coin, each call given every earlier cover's palette as
   * `recent` (exactly what the renderer does with RenderInput.recentPalettes), show >= 20 distinct schemes.
   * "Distinct" is measured, not counted by seed: walk the 100 palettes in order and keep a palette as a new
   * scheme only if its paletteDistance to every scheme kept so far exceeds DISTINCT (0.1 in OKLab deltaE
   * units, i.e. the average colour moves by ~5 just-noticeable differences). That greedy count is a lower
   * bound on how many mutually distinct schemes the run contains.
   */
  it('gives at least 20 distinct colour schemes over 100 consecutive covers of one coin', () => {
    const DISTINCT = 0.1;
    const history: Palette[] = [];
    for (let i = 0; i < 100; i++) history.push(choosePalette(BTC_ORANGE, 1000 + i, { recent: history }).palette);
    const schemes: Palette[] = [];
    for (const p of history) if (schemes.every((s) => paletteDistance(p, s) > DISTINCT)) schemes.push(p);
    expect(schemes.length).toBeGreaterThanOrEqual(20);
    // And no cover repeats the scheme of any of the 5 before it.
    for (let i = 1; i < history.length; i++) {
      for (let k = Math.max(0, i - 5); k < i; k++) {
        expect(paletteDistance(history[i]!, history[k]!)).toBeGreaterThan(DEFAULT_MIN_PALETTE_DISTANCE);
      }
    }
  });

  it('offers both dark and light palettes', () => {
    const ps = Array.from({ length: 40 }, (_, s) => choosePalette(BTC_ORANGE, s).palette);
    expect(ps.some(isDarkPalette)).toBe(true);
    expect(ps.some((p) => !isDarkPalette(p))).toBe(true);
  });
});

describe('extractPalette', () => {
  it('finds the colours of an image, darkest first', () => {
    const w = 16;
    const h = 16;
    const px = new Uint8Array(w * h * 4);
    for (let i = 0; i < w * h; i++) {
      const dark = i % w < 8;
      px.set(dark ? [10, 20, 60, 255] : [250, 200, 40, 255], i * 4);
    }
    const p = extractPalette(px, w, h);
    expect(p.scheme).toBe('extracted');
    const first = relativeLuminance(hexToRgb(p.colors[0]!));
    const last = relativeLuminance(hexToRgb(p.colors[p.colors.length - 1]!));
    expect(contrastRatio(first, last)).toBeGreaterThan(5);
  });
});

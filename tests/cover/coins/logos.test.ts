/**
 * Every detected coin gets a logo: its own icon from cryptocurrency-icons when the set has one, else a monogram,
 * never the icon of another coin that shares its ticker. Checked for the newly catalogued coins (those generated from
 * the public lists, after the curated ones).
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { coinRefFor } from '../../../src/cover/coin-ref.js';
import { loadCoinCatalogue } from '../../../src/cover/coins/catalogue.js';
import { createCoinDetector } from '../../../src/cover/coins/detect.js';
import { createCoverRenderer } from '../../../src/cover/render/renderer.js';

const catalogue = loadCoinCatalogue();
const detector = createCoinDetector(catalogue);
const iconsDir = dirname(createRequire(import.meta.url).resolve('cryptocurrency-icons/manifest.json'));
const manifest = JSON.parse(readFileSync(join(iconsDir, 'manifest.json'), 'utf8')) as Array<{ symbol: string; name: string }>;
const iconName = new Map(manifest.map((m) => [m.symbol.toLowerCase(), m.name]));
const curated = JSON.parse(readFileSync(new URL('../../../data/catalogue/curated.json', import.meta.url), 'utf8')) as {
  coins: Array<{ symbol: string }>;
};
const curatedSymbols = new Set(curated.coins.map((c) => c.symbol));
const newCoins = catalogue.coins.filter((c) => !curatedSymbols.has(c.symbol));

const renderer = createCoverRenderer();
beforeAll(async () => {
  await renderer.warmup();
}, 60_000);

async function logoFor(title: string): Promise<{ symbol: string; source: string | undefined }> {
  const primary = detector.detect(title).find((c) => c.primary);
  if (!primary) throw new Error(`no coin detected in "${title}"`);
  const out = await renderer.render({ title, width: 640, height: 360, seed: 3, coin: coinRefFor(primary, catalogue) });
  return { symbol: primary.symbol, source: out.logo?.source };
}

describe('logos for the catalogue', () => {
  it('catalogues thousands of coins, most of them new', () => {
    expect(catalogue.coins.length).toBeGreaterThan(2000);
    expect(newCoins.length).toBeGreaterThan(1500);
  });

  it('points every icon at an existing file of the same coin', () => {
    const withIcon = catalogue.coins.filter((c) => c.icon);
    expect(withIcon.length).toBeGreaterThan(300);
    for (const c of withIcon) {
      expect(existsSync(join(iconsDir, 'svg', 'color', `${c.icon}.svg`)), `${c.symbol} -> ${c.icon}`).toBe(true);
      expect(iconName.has(c.icon as string), c.symbol).toBe(true);
    }
    // New coins get icons too, not only the curated ones.
    expect(newCoins.filter((c) => c.icon).length).toBeGreaterThan(100);
  });

  it('gives a coin whose ticker belongs to another coin in the icon set no icon (a monogram instead)', () => {
    // ONG is Ontology Gas here; the icon set's "ong" is SoMee.Social.
    expect(iconName.get('ong')).not.toMatch(/ontology/i);
    expect(coinRefFor({ symbol: 'ONG', name: 'Ontology Gas' }, catalogue).icon).toBeNull();
    // A coin the catalogue does not know never borrows an icon by its ticker either.
    expect(coinRefFor({ symbol: 'NOTACOIN', name: 'Not A Coin' }, catalogue).icon).toBeNull();
  });
});

describe('covers for newly catalogued coins', () => {
  it('draws the icon-set logo for a new coin that has one', async () => {
    const got = await logoFor('VeThor Token (VTHO) jumps 20% as VeChain usage grows');
    expect(got).toEqual({ symbol: 'VTHO', source: 'icon-set' });
  });

  it('draws a monogram for a new coin without an icon, and for one whose ticker is another coin\u2019s icon', async () => {
    expect(await logoFor('Biswap (BSW) rallies after the v3 launch')).toEqual({ symbol: 'BSW', source: 'monogram' });
    expect(await logoFor('Ontology Gas (ONG) surges 30% in a day')).toEqual({ symbol: 'ONG', source: 'monogram' });
  });
});

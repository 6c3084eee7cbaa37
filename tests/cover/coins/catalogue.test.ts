import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { LoraloopError } from '../../../src/core/errors.js';
import { catalogueChecksum, defaultCataloguePath, loadCoinCatalogue, parseCoinCatalogue } from '../../../src/cover/coins/catalogue.js';

const devSet = fileURLToPath(new URL('../../../../shared/eval/crypto_headlines.dev.jsonl', import.meta.url));

function minimal(coins: unknown[]): unknown {
  return {
    schema_version: 1,
    coins,
    non_coins: [],
    context: {
      coin_nouns: ['memecoins'],
      weak_context_after: ['token'],
      ticker_word_followers: ['a'],
      chain_cues: ['51% attack'],
      descriptor_words: ['token'],
      acronym_stoplist: ['SEC'],
      stock_tickers: ['COIN'],
    },
  };
}

function thrown(fn: () => unknown): LoraloopError {
  try {
    fn();
  } catch (e) {
    if (e instanceof LoraloopError) return e;
    throw e;
  }
  throw new Error('expected a LoraloopError');
}

describe('coin catalogue', () => {
  const catalogue = loadCoinCatalogue();

  it('finds data/coins.json from the module location and lists at least the top 200 coins', () => {
    expect(defaultCataloguePath()).toMatch(/data[/\\]coins\.json$/);
    expect(catalogue.coins.length).toBeGreaterThanOrEqual(200);
    expect(catalogue.coins[0]?.symbol).toBe('BTC');
    expect(catalogue.bySymbol('eth')?.name).toBe('Ethereum');
  });

  it('resolves old tickers and cashtags to the current coin', () => {
    expect(catalogue.bySymbol('MATIC')?.symbol).toBe('POL');
    expect(catalogue.bySymbol('$matic')?.symbol).toBe('POL');
    expect(catalogue.bySymbol('NOPE_NOT_A_COIN')).toBeUndefined();
  });

  it('holds every coin of the dev set', () => {
    const symbols = new Set<string>();
    for (const line of readFileSync(devSet, 'utf8').split('\n').filter(Boolean)) {
      for (const s of (JSON.parse(line) as { coins: string[] }).coins) symbols.add(s);
    }
    const missing = [...symbols].filter((s) => !catalogue.bySymbol(s));
    expect(missing).toEqual([]);
  });

  it('exports the exchanges and companies that are not coins', () => {
    const names = catalogue.nonCoins.map((n) => n.name);
    expect(names).toEqual(expect.arrayContaining(['Binance', 'Coinbase', 'Circle', 'Strategy', 'Trump Media', 'HTX']));
    expect(catalogue.nonCoins.find((n) => n.name === 'Binance')?.kind).toBe('exchange');
  });

  it('gives brand colours as #rrggbb', () => {
    expect(catalogue.bySymbol('BTC')?.brand_color).toBe('#f7931a');
    expect(catalogue.coins.filter((c) => c.brand_color).length).toBeGreaterThan(100);
  });

  it('rejects a malformed entry with an error that names it', () => {
    const err = thrown(() => parseCoinCatalogue(minimal([{ symbol: 'BTC', name: 'Bitcoin', aliases: [], brand_color: 'orange' }])));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('coins.0.brand_color');
  });

  it('rejects two coins claiming one alias, naming both', () => {
    const err = thrown(() =>
      parseCoinCatalogue(
        minimal([
          { symbol: 'BTC', name: 'Bitcoin', aliases: ['Digital Gold'] },
          { symbol: 'PAXG', name: 'PAX Gold', aliases: ['digital gold'] },
        ]),
      ),
    );
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toMatch(/digital gold.*BTC.*PAXG/);
  });

  it('rejects a lower-case symbol and unknown fields', () => {
    expect(() => parseCoinCatalogue(minimal([{ symbol: 'btc', name: 'Bitcoin', aliases: [] }]))).toThrow(/symbol/);
    expect(() => parseCoinCatalogue(minimal([{ symbol: 'BTC', name: 'Bitcoin', aliases: [], colour: '#fff000' }]))).toThrow(
      /colour/,
    );
  });

  it('reports a file that is not JSON, and a missing file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coins-'));
    const bad = join(dir, 'coins.json');
    writeFileSync(bad, '{ "coins": [ ');
    const err = thrown(() => loadCoinCatalogue(bad));
    expect(err.code).toBe('CONFIG_INVALID');
    expect(err.message).toContain('not valid JSON');
    expect(thrown(() => loadCoinCatalogue(join(dir, 'absent.json'))).code).toBe('NOT_FOUND');
  });
});

describe('regenerating the catalogue', () => {
  const words = '/usr/share/dict/words';
  it.skipIf(!existsSync(words))('reproduces the committed data/coins.json from the lists in data/catalogue/', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coins-'));
    const out = join(dir, 'coins.json');
    const root = fileURLToPath(new URL('../../../', import.meta.url));
    try {
      execFileSync(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'build-coin-catalogue.ts'), '--out', out], {
        cwd: root,
        stdio: 'pipe',
      });
      expect(readFileSync(out, 'utf8')).toBe(readFileSync(join(root, 'data', 'coins.json'), 'utf8'));
      expect(readFileSync(`${out}.sha256`, 'utf8')).toBe(readFileSync(join(root, 'data', 'coins.json.sha256'), 'utf8'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('loading a catalogue file', () => {
  const entry = { symbol: 'BTC', name: 'Bitcoin', aliases: [], brand_color: 'orange' };
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  it('validates a file whose bytes do not match the checksum the generator wrote (a hand edit)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cat-'));
    dirs.push(dir);
    const file = join(dir, 'coins.json');
    writeFileSync(file, JSON.stringify(minimal([entry])));
    writeFileSync(`${file}.sha256`, `${'0'.repeat(64)}\n`);
    expect(thrown(() => loadCoinCatalogue(file)).code).toBe('CONFIG_INVALID');
  });

  it('trusts the exact bytes the generator validated, so a cold start does not validate them twice', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cat-'));
    dirs.push(dir);
    const file = join(dir, 'coins.json');
    const text = JSON.stringify(minimal([{ ...entry, brand_color: '#f7931a' }]));
    writeFileSync(file, text);
    writeFileSync(`${file}.sha256`, `${catalogueChecksum(text)}\n`);
    expect(loadCoinCatalogue(file).bySymbol('btc')?.name).toBe('Bitcoin');
  });
});

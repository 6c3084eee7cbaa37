/**
 * The optional second opinion: the real `openai` client against the local OpenAI-compatible emulator. It is asked
 * only when the rules are unsure, only about the doubted names, and a failing or nonsensical model changes nothing.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadCoinCatalogue } from '../../../src/cover/coins/catalogue.js';
import { createCoinDetector } from '../../../src/cover/coins/detect.js';
import { createCoinSecondOpinion, parseSecondOpinion } from '../../../src/cover/coins/second-opinion.js';
import { emptyLoraResolver } from '../../../src/cover/lora-resolver.js';
import { routeCoverChecked } from '../../../src/cover/route.js';
import { startOpenAIEmulator, type OpenAIEmulator } from '../../emulators/openai.js';
import { dataOf } from '../../support/result.js';

const detector = createCoinDetector(loadCoinCatalogue());
let emulator: OpenAIEmulator;

beforeEach(async () => {
  emulator = await startOpenAIEmulator();
});
afterEach(async () => {
  await emulator.close();
});

function opinion(): ReturnType<typeof createCoinSecondOpinion> {
  return createCoinSecondOpinion({ apiKey: 'sk-test', baseUrl: emulator.baseUrl, model: 'judge-1', fetch: globalThis.fetch });
}

const route = (title: string, withOpinion = true) =>
  routeCoverChecked(detector, emptyLoraResolver, title, undefined, withOpinion ? opinion() : undefined);
const symbols = (r: Awaited<ReturnType<typeof route>>): string[] => r.coins.map((c) => c.symbol);

describe('coin second opinion', () => {
  it('is never asked when the rules are sure', async () => {
    expect(symbols(await route('Bitcoin Hits $100K as ETF Inflows Surge'))).toEqual(['BTC']);
    expect(symbols(await route('Coinbase Shares Rise After Earnings Beat'))).toEqual([]);
    expect(emulator.requests).toHaveLength(0);
  });

  it('settles a doubted common-word name, and the route says so', async () => {
    emulator.push({ content: '{"coins": ["ONE"]}' });
    const r = await route('Harmony Announces New Partnership With Visa');
    expect(symbols(r)).toEqual(['ONE']);
    expect(r.coins[0]?.primary).toBe(true);
    expect(r.reasoning).toMatch(/second opinion \(judge-1\) confirmed ONE/);
    // It was asked about this headline and this name only, with the model configured.
    expect(emulator.requests).toHaveLength(1);
    expect(emulator.requests[0]?.model).toBe('judge-1');
    expect(emulator.requests[0]?.text).toContain('Harmony Announces New Partnership With Visa');
    expect(emulator.requests[0]?.text).toContain('ONE: "Harmony"');
  });

  it('keeps the rules\u2019 answer when the model says no, fails, or names coins nobody doubted', async () => {
    emulator.push({ content: '{"coins": []}' });
    expect(symbols(await route('Is Optimism Back? Traders Eye Recovery'))).toEqual([]);

    emulator.push({ status: 500, error: { message: 'down' } }, { status: 500, error: { message: 'down' } });
    expect(symbols(await route('Is Optimism Back? Traders Eye Recovery'))).toEqual([]);

    emulator.push({ content: 'I think it is Bitcoin and Optimism' });
    expect(symbols(await route('Is Optimism Back? Traders Eye Recovery'))).toEqual([]);

    emulator.push({ content: '```json\n{"coins": ["BTC", "SOL"]}\n```' });
    expect(symbols(await route('Is Optimism Back? Traders Eye Recovery'))).toEqual([]);
  });

  it('is not needed at all: without a model the rules answer alone, and say what they left out', async () => {
    const r = await route('Harmony Announces New Partnership With Visa', false);
    expect(symbols(r)).toEqual([]);
    expect(r.reasoning).toContain('Not counted: "Harmony" as Harmony (ONE)');
    expect(emulator.requests).toHaveLength(0);
  });

  it('reads JSON answers, fenced or bare, and refuses anything else', () => {
    expect(parseSecondOpinion('{"coins": ["one", "$op"]}')).toEqual(['ONE', 'OP']);
    expect(parseSecondOpinion('Sure:\n```json\n{"coins": []}\n```')).toEqual([]);
    expect(parseSecondOpinion('{"coins": "ONE"}')).toBeUndefined();
    expect(parseSecondOpinion('no')).toBeUndefined();
  });
});

describe('cover_route with a model configured', () => {
  it('asks the model only about the doubted name and says so in its answer', async () => {
    const { makeTestApp } = await import('../../support/app.js');
    const t = makeTestApp({ OPENAI_API_KEY: 'sk-test', OPENAI_BASE_URL: emulator.baseUrl, LORALOOP_LLM_MODEL: 'judge-1' });
    try {
      const sure = await t.app.tools.execute('cover_route', { title: 'Bitcoin Hits $100K as ETF Inflows Surge' }, t.app.context());
      expect(dataOf<{ coins: Array<{ symbol: string }> }>(sure).coins.map((c) => c.symbol)).toEqual(['BTC']);
      expect(emulator.requests).toHaveLength(0);
      emulator.push({ content: '{"coins": ["ONE"]}' });
      const r = await t.app.tools.execute('cover_route', { title: 'Harmony Announces New Partnership With Visa' }, t.app.context());
      expect(dataOf<{ coins: Array<{ symbol: string }> }>(r).coins.map((c) => c.symbol)).toEqual(['ONE']);
      expect(r.reasoning).toMatch(/second opinion .*confirmed ONE/);
      expect(emulator.requests).toHaveLength(1);
    } finally {
      await t.dispose();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../src/app.js';
import { runCoverAgent, type TrailStep } from '../../src/agent/make.js';
import { makeTestApp } from '../support/app.js';
import { dataOf, errorOf } from '../support/result.js';

interface MakeData {
  cover_id: string;
  score: number;
  attempts: number;
  coin: { symbol: string } | null;
  title: string;
  met_threshold: boolean;
  stopped_because: string;
  trail: TrailStep[];
}

describe('cover_make with the rule planner', () => {
  let app: App;
  let dispose: () => Promise<void>;
  beforeAll(() => {
    ({ app, dispose } = makeTestApp());
  });
  afterAll(async () => dispose());
  const make = async (input: Record<string, unknown>) => app.tools.execute('cover_make', input, app.context());

  it('makes a correct Solana cover from "make a Solana cover: <title>" and records the trail', async () => {
    const r = await make({ request: 'make a Solana cover: Solana ETF inflows hit $1B', seed: 21 });
    expect(r.success).toBe(true);
    const d = dataOf<MakeData>(r);
    expect(d).toMatchObject({ attempts: 1, coin: { symbol: 'SOL' }, title: 'Solana ETF inflows hit $1B', met_threshold: true });
    expect(d.score).toBeGreaterThanOrEqual(0.8);
    expect(d.trail.map((s) => s.action)).toEqual(['parse', 'parse', 'route', 'generate', 'critique', 'finish']);
    expect(r.reasoning).toMatch(/Trail:\n1\. \[parse\] Read the headline after the colon/);
    const cover = (await app.services.store.covers.get(d.cover_id))!;
    expect(cover.primary_symbol).toBe('SOL');
    expect(cover.logo?.symbol).toBe('SOL');
  });

  it('regenerates with a new seed and another style when the first cover duplicates a recent one', async () => {
    // Same title and seed as an existing cover: attempt 1 is an exact duplicate.
    await make({ request: 'make a Bitcoin cover: Bitcoin slides below $90K', seed: 33 });
    const steps: TrailStep[] = [];
    const r = await runCoverAgent(app.services, app.tools, { request: 'make a Bitcoin cover: Bitcoin slides below $90K', seed: 33, budget: { attempts: 3 } }, { onStep: (s) => steps.push(s) });
    const d = dataOf(r);
    expect(d.attempts).toBe(2);
    const firstCritique = d.trail.find((s) => s.action === 'critique')!;
    expect(firstCritique.summary).toMatch(/failed .*near_duplicate/);
    const decision = d.trail.find((s) => s.action === 'decide')!;
    expect(decision.summary).toMatch(/looks like a recent cover: switching the background style to \w+/);
    const gens = d.trail.filter((s) => s.action === 'generate');
    expect(gens[1]!.input).toMatchObject({ seed: 33 + 7919, style: expect.any(String) });
    expect(d.cover_id).toBe(gens[1]!.cover_id);
    expect(d.score).toBeGreaterThan(d.trail.find((s) => s.action === 'critique')!.score!);
    // onStep saw every step as it landed, in order.
    expect(steps.map((s) => s.step)).toEqual(d.trail.map((s) => s.step));
  });

  it('returns the best cover under the threshold when the attempt budget runs out, and says so', async () => {
    await make({ request: 'make an Ethereum cover: Ethereum Pectra upgrade ships', seed: 44 });
    const r = await make({ request: 'make an Ethereum cover: Ethereum Pectra upgrade ships', seed: 44, budget: { attempts: 1 } });
    expect(r.success).toBe(true);
    const d = dataOf<MakeData>(r);
    expect(d).toMatchObject({ attempts: 1, met_threshold: false });
    expect(d.stopped_because).toMatch(/attempt budget \(1\) is used/);
    expect(r.reasoning).toMatch(/under the threshold 0\.8/);
    expect(r.reasoning).toMatch(/near_duplicate/);
  });

  it('leads the title with the requested coin when the headline does not name it', async () => {
    const r = await make({ request: 'make a Solana cover: ETF inflows hit $1B' });
    const d = dataOf<MakeData>(r);
    expect(d.title).toBe('Solana: ETF inflows hit $1B');
    expect((await app.services.store.covers.get(d.cover_id))!.primary_symbol).toBe('SOL');
    expect(r.reasoning).toMatch(/does not make SOL the primary coin/);
  });

  it('uses the coin name as the title when only a coin is named, and asks for a title otherwise', async () => {
    const named = await make({ request: 'make a Dogecoin cover' });
    expect(named.success).toBe(true);
    expect(dataOf<MakeData>(named).title).toBe('Dogecoin');
    expect(named.reasoning).toMatch(/No headline was given, so the cover uses "Dogecoin"/);
    const quoted = await make({ request: 'please make a cover "XRP lawsuit finally ends"' });
    expect(dataOf<MakeData>(quoted).title).toBe('XRP lawsuit finally ends');
    expect(dataOf<MakeData>(quoted).coin).toMatchObject({ symbol: 'XRP' });
    const none = await make({ request: 'make a cover' });
    expect(none.success).toBe(false);
    expect(none.reasoning).toMatch(/names neither a headline nor a coin.*after a colon or in quotes/);
  });

  it('refuses the LLM planner without a model, naming OPENAI_API_KEY', async () => {
    const r = await make({ request: 'make a Solana cover: x', planner: 'llm' });
    expect(r.success).toBe(false);
    expect(errorOf(r).code).toBe('NOT_CONFIGURED');
    expect(r.reasoning).toMatch(/OPENAI_API_KEY/);
  });
});

/**
 * Which tool the bot runs and what it reads back: the agent when the registry has it, the one-shot
 * generator (scored by the critic) when it does not or when a style is forced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { App } from '../../../src/app.js';
import { runCoverJob } from '../../../src/faces/slack/cover-runner.js';
import { allTools } from '../../../src/all-tools.js';
import { createToolRegistry } from '../../../src/tools/registry.js';
import { makeTestApp } from '../../support/app.js';

let t: ReturnType<typeof makeTestApp>;
beforeAll(() => {
  t = makeTestApp();
});
afterAll(async () => {
  await t.dispose();
});

const job = { title: 'Solana ETF inflows hit $1B', brief: 'make a Solana cover: Solana ETF inflows hit $1B' };

describe('runCoverJob', () => {
  it('runs the agent when it is registered, and reads score, palette and coin back', async () => {
    const steps: string[] = [];
    const run = await runCoverJob(t.app, job, { logger: t.app.services.logger, onProgress: (p) => steps.push(p.message ?? '') });
    expect(run.ok).toBe(true);
    if (!run.ok) return;
    expect(run.outcome.tool).toBe(t.app.tools.get('cover_make') ? 'cover_make' : 'cover_generate');
    expect(run.outcome.coins.find((c) => c.primary)?.symbol).toBe('SOL');
    expect(run.outcome.palette?.colors.length).toBeGreaterThan(0);
    expect(run.outcome.score).toBeGreaterThanOrEqual(0);
    expect(run.outcome.score).toBeLessThanOrEqual(1);
    expect(steps.length).toBeGreaterThan(0);
  });

  it('without the agent, cover_generate makes the cover and the critic scores it', async () => {
    const withoutAgent: App = { ...t.app, tools: createToolRegistry(allTools().filter((x) => x.name !== 'cover_make')) };
    const run = await runCoverJob(withoutAgent, job, { logger: t.app.services.logger });
    expect(run.ok && run.outcome.tool).toBe('cover_generate');
    expect(run.ok && run.outcome.score).toEqual(expect.any(Number));
  });

  it('a forced style goes to cover_generate, which honours it', async () => {
    const run = await runCoverJob(t.app, { ...job, style: 'hexagons' }, { logger: t.app.services.logger });
    expect(run.ok && run.outcome.tool).toBe('cover_generate');
    expect(run.ok && run.outcome.style).toBe('hexagons');
  });

  it('a tool failure comes back as a value with its code and message, not a throw', async () => {
    const run = await runCoverJob(t.app, { title: 'x'.repeat(400), brief: 'x'.repeat(400) }, { logger: t.app.services.logger });
    expect(run.ok).toBe(false);
    expect(!run.ok && run.code).toMatch(/^[A-Z_]+$/);
    expect(!run.ok && run.message).toMatch(/characters/);
  });
});

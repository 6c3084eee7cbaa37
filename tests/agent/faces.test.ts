import type { Client } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../src/faces/cli/run.js';
import { makeTestApp } from '../support/app.js';
import { connectMcpClient } from '../support/mcp.js';
import { databaseEnvFor } from '../support/database.js';

describe('the loop tools on MCP and the CLI', () => {
  let t: ReturnType<typeof makeTestApp>;
  let client: Client;
  beforeAll(async () => {
    t = makeTestApp();
    client = await connectMcpClient(t.app, 'loop-contract');
  });
  afterAll(async () => {
    await client.close();
    await t.dispose();
  });

  it('makes, critiques and rates a cover over MCP with structured content that matches the output schemas', async () => {
    const made = await client.callTool({ name: 'cover_make', arguments: { request: 'make a Solana cover: Solana ETF inflows hit $1B' } });
    expect(made.isError).toBeFalsy();
    const d = made.structuredContent as { cover_id: string; trail: Array<{ action: string }>; score: number };
    expect(d.cover_id).toMatch(/^cov_/);
    expect(d.trail.at(-1)!.action).toBe('finish');
    const crit = await client.callTool({ name: 'cover_critique', arguments: { cover_id: d.cover_id, vision: 'off' } });
    expect(crit.isError).toBeFalsy();
    expect((crit.structuredContent as { checks: Array<{ name: string }> }).checks.map((c) => c.name)).toContain('logo');
    const rated = await client.callTool({ name: 'cover_rate', arguments: { cover_id: d.cover_id, stars: 5, rater: 'U123' } });
    expect(rated.isError).toBeFalsy();
    expect(rated.structuredContent).toMatchObject({ stars: 5, set: 'none', stats: { coin: { key: 'SOL', ratings: 1 } } });
    const bad = await client.callTool({ name: 'cover_rate', arguments: { cover_id: d.cover_id, stars: 9 } });
    expect(bad.isError).toBe(true);
  });

  it('runs `loraloop make` and prints the trail', async () => {
    let out = '';
    let err = '';
    const io = {
      stdout: (s: string) => void (out += s),
      stderr: (s: string) => void (err += s),
      isTty: false,
      env: { ...databaseEnvFor(t.home), LORALOOP_HOME: t.home, LORALOOP_ALLOWED_ROOTS: t.home, LORALOOP_LOG_LEVEL: 'silent' },
      cwd: t.home,
      readStdin: async () => '',
    };
    const code = await runCli(['make', 'make a Bitcoin cover: Bitcoin slides below $90K', '--attempts', '2'], io);
    expect(code, err).toBe(0);
    expect(out).toMatch(/best is cov_/);
    expect(out).toMatch(/\[critique\] Cover 1 scored/);
    expect(await runCli(['make'], io)).toBe(2);
    expect(err).toMatch(/say what to make/);
    expect(await runCli(['make', 'x', '--attempts', 'many'], io)).toBe(2);
  });
});

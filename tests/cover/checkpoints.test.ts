/**
 * Checkpoint tiers and learning: fuzzy resolution against server file names, the explore split, Thompson
 * sampling favouring what people select while still exploring, and the checkpoint_stats shape over MCP.
 */
import { Client } from '@modelcontextprotocol/client';
import { InMemoryTransport } from '@modelcontextprotocol/client';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_TIERS, allocate, fuzzyMatchModel, parseTiers, resolveTier } from '../../src/cover/checkpoints.js';
import { createRng } from '../../src/core/random.js';
import { createMcpServer } from '../../src/faces/mcp/server.js';
import { startComfyEmulator } from '../emulators/comfyui.js';
import { makeTestApp } from '../support/app.js';
import { dataOf } from '../support/result.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const FILES = [
  'beenyouLite_l15.safetensors',
  'realisticVisionV60B1_v51VAE.safetensors',
  'dreamshaper_8.safetensors',
  'RealVisXL_V4.0.safetensors',
  'juggernautXL_v9Rdphoto2Lightning.safetensors',
  'xl/juggernautXL_v8.safetensors',
];

describe('checkpoint tiers', () => {
  it('resolves tier names against server files by fuzzy match and reports what is missing', () => {
    expect(fuzzyMatchModel('realisticVision', FILES)).toBe('realisticVisionV60B1_v51VAE.safetensors');
    expect(fuzzyMatchModel('realvisxl', FILES)).toBe('RealVisXL_V4.0.safetensors');
    expect(fuzzyMatchModel('juggernautXL', FILES)).toBe('xl/juggernautXL_v8.safetensors');
    expect(fuzzyMatchModel('epicrealismXL', FILES)).toBeUndefined();
    const sdxl = resolveTier('sdxl_standard', DEFAULT_TIERS, FILES);
    expect(sdxl.base_model).toBe('sdxl');
    expect(sdxl.checkpoints.map((c) => c.file)).toEqual(['RealVisXL_V4.0.safetensors', 'xl/juggernautXL_v8.safetensors']);
    expect(sdxl.missing).toEqual(['epicrealismXL']);
    const custom = parseTiers('sd15_draft=dreamshaper,beenyouLite;flux_fast:flux=flux1-schnell');
    expect(custom.sd15_draft?.checkpoints).toEqual(['dreamshaper', 'beenyouLite']);
    expect(custom.flux_fast?.base_model).toBe('flux');
    expect(custom.sdxl_standard).toEqual(DEFAULT_TIERS.sdxl_standard);
    expect(() => parseTiers('nonsense')).toThrow(/LORALOOP_CHECKPOINT_TIERS/);
  });

  it('explore splits a fresh batch evenly (20 -> 7/7/6); quick takes the best posterior', () => {
    const fresh = ['a', 'b', 'c'].map((arm) => ({ arm, selected: 0, total: 0 }));
    expect(allocate(fresh, 20, 'explore', { seed: 1 }).map((x) => x.count)).toEqual([7, 7, 6]);
    const quick = allocate([{ arm: 'a', selected: 1, total: 10 }, { arm: 'b', selected: 6, total: 10 }, { arm: 'c', selected: 0, total: 0 }], 20, 'quick');
    expect(quick).toEqual([{ arm: 'b', count: 20 }]);
  });

  it('Thompson sampling gives the better checkpoint most drafts while every arm keeps a few', () => {
    const arms = [
      { arm: 'weak', selected: 2, total: 40 },
      { arm: 'good', selected: 24, total: 40 },
      { arm: 'meh', selected: 6, total: 40 },
    ];
    for (let seed = 1; seed <= 5; seed++) {
      const a = Object.fromEntries(allocate(arms, 20, 'explore', { rng: createRng(seed) }).map((x) => [x.arm, x.count]));
      expect(a.good).toBeGreaterThanOrEqual(14);
      expect(a.weak).toBeGreaterThanOrEqual(2);
      expect(a.meh).toBeGreaterThanOrEqual(2);
      expect((a.good ?? 0) + (a.weak ?? 0) + (a.meh ?? 0)).toBe(20);
    }
  });
});

describe('learning from drafts_select', () => {
  it('records choices, reports checkpoint_stats exactly, and the next batch favours the chosen checkpoint', async () => {
    const emu = await startComfyEmulator({ stepMs: 1, steps: 2, checkpoints: FILES.slice(0, 3) });
    cleanups.push(() => emu.close());
    const t = makeTestApp(
      { COMFYUI_URLS: emu.url },
      { generationOptions: { seed: 11, backends: { comfy: { pollIntervalMs: 20 } }, pool: { probeMs: 50 } } },
    );
    cleanups.push(t.dispose);
    const a = t.app;
    const first = await a.tools.execute('cover_batch', { title: 'Bitcoin miners sell as hashrate climbs', count: 9, backend: 'comfyui', size: '1024x1024', wait: true }, a.context());
    expect(first.success, first.reasoning).toBe(true);
    const b1 = dataOf(first) as { batch_id: string; drafts: Array<{ draft_id: string; number: number; checkpoint: string }>; checkpoint_distribution: Record<string, number> };
    expect(Object.values(b1.checkpoint_distribution)).toEqual([3, 3, 3]);
    const rv = 'realisticVisionV60B1_v51VAE.safetensors';
    const chosen = b1.drafts.filter((d) => d.checkpoint === rv);
    // Choose by number and by id; a bad number is refused with the valid ones.
    const bad = await a.tools.execute('drafts_select', { batch_id: b1.batch_id, selected: [99] }, a.context());
    expect(bad.success).toBe(false);
    expect(bad.reasoning).toContain('Choose among numbers');
    const sel = await a.tools.execute('drafts_select', { batch_id: b1.batch_id, selected: [chosen[0]!.number, chosen[1]!.draft_id, chosen[2]!.number] }, a.context());
    expect(sel.success, sel.reasoning).toBe(true);
    // Selecting again replaces instead of double counting.
    const again = await a.tools.execute('drafts_select', { batch_id: b1.batch_id, selected: chosen.map((d) => d.draft_id) }, a.context());
    expect(dataOf<{ replaced: boolean }>(again).replaced).toBe(true);

    // checkpoint_stats through a real MCP client: data exactly {"<checkpoint>": {selected, total, selection_rate}}.
    const [ct, st] = InMemoryTransport.createLinkedPair();
    const { server } = createMcpServer(a);
    await server.connect(st);
    const client = new Client({ name: 'test', version: '1' });
    await client.connect(ct);
    cleanups.push(() => client.close());
    const listed = (await client.listTools()).tools.find((x) => x.name === 'checkpoint_stats');
    expect(listed?.outputSchema?.type).toBe('object');
    const res = await client.callTool({ name: 'checkpoint_stats', arguments: {} });
    expect(res.isError).toBeFalsy();
    expect(res.structuredContent).toEqual({
      'beenyouLite_l15.safetensors': { selected: 0, total: 3, selection_rate: 0 },
      [rv]: { selected: 3, total: 3, selection_rate: 1 },
      'dreamshaper_8.safetensors': { selected: 0, total: 3, selection_rate: 0 },
      // Structured content also carries the reasoning (clients that show only structured content lose nothing).
      reasoning: expect.stringContaining('realisticVisionV60B1_v51VAE.safetensors: 3/3 selected'),
    });

    // The next explore batch favours realisticVision but still tries the others.
    const second = await a.tools.execute('cover_batch', { title: 'Bitcoin miners sell as hashrate climbs', count: 12, backend: 'comfyui', size: '1024x1024', wait: true }, a.context());
    expect(second.success, second.reasoning).toBe(true);
    const dist = dataOf<{ checkpoint_distribution: Record<string, number> }>(second).checkpoint_distribution;
    expect(dist[rv]).toBeGreaterThanOrEqual(7);
    expect(dist['beenyouLite_l15.safetensors']).toBeGreaterThanOrEqual(1);
    expect(dist['dreamshaper_8.safetensors']).toBeGreaterThanOrEqual(1);
    // Quick mode goes all-in on the best.
    const quick = await a.tools.execute('cover_batch', { prompt: 'bitcoin mining rig', count: 3, mode: 'quick', backend: 'comfyui', size: '1024x1024' }, a.context());
    expect(dataOf<{ checkpoint_distribution: Record<string, number> }>(quick).checkpoint_distribution).toEqual({ [rv]: 3 });
  }, 90_000);
});

/**
 * Past one machine, for real: three `loraloop worker` processes (each its own home, as if on its own host), an
 * MCP server on a fourth that has no GPU address at all, one PostgreSQL (store and pg-boss queue), one S3
 * bucket, and four emulated ComfyUI servers of uneven speed. One worker is killed with SIGKILL mid-batch.
 */
import pg from 'pg';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startComfyEmulator, type ComfyEmulator } from '../emulators/comfyui.js';
import { startCluster, type TestCluster } from '../support/cluster.js';
import { postgresBinDir } from '../support/postgres.js';

const CHECKPOINTS = ['beenyouLite_l15.safetensors', 'realisticVisionV60B1_v51VAE.safetensors', 'dreamshaper_8.safetensors'];
// The suite's database does not matter here (the cluster brings its own): run once, in the SQLite pass.
const run = postgresBinDir() && process.env.LORALOOP_TEST_DATABASE !== 'postgres' ? describe : describe.skip;

let cluster: TestCluster;
let emus: ComfyEmulator[] = [];
beforeAll(async () => {
  cluster = await startCluster();
  // ~0.2 / 0.3 / 0.45 / 0.7 s per image.
  emus = await Promise.all([20, 30, 45, 70].map((ms, i) => startComfyEmulator({ stepMs: ms, steps: 10, name: `gpu${i}`, checkpoints: CHECKPOINTS })));
}, 60_000);
afterAll(async () => {
  await Promise.all(emus.map((e) => e.close()));
  await cluster?.stop();
});

async function pgCount(sql: string): Promise<number> {
  const c = new pg.Client({ connectionString: cluster.databaseUrl });
  await c.connect();
  try {
    return Number((await c.query<{ n: string }>(sql)).rows[0]?.n ?? 0);
  } finally {
    await c.end();
  }
}
const activeDraftJobs = () => pgCount(`SELECT count(*) AS n FROM pgboss.job WHERE name = 'loraloop.drafts.comfyui' AND state = 'active'`);
const rerunDraftJobs = () => pgCount(`SELECT count(*) AS n FROM pgboss.job WHERE name = 'loraloop.drafts.comfyui' AND retry_count > 0`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

run('three workers, one killed mid-batch', () => {
  it('finishes a 40-draft batch from an MCP host with no GPU access; a fresh host reads every image', async () => {
    const comfy = { COMFYUI_URLS: emus.map((e) => e.url).join(',') };
    const workers = [0, 1, 2].map((i) => cluster.spawn(`worker${i}`, ['worker', '--calls', '2', '--no-nightly'], comfy));
    const mcpHome = cluster.home('mcp');
    const client = await cluster.mcpClient(mcpHome, 'scale-test');
    const reader = cluster.freshStore('reader');
    try {
      const started = await client.callTool({ name: 'cover_batch', arguments: { title: 'Solana rallies as ETF inflows hit $1B', count: 40, backend: 'comfyui', wait: false } });
      expect(started.isError, JSON.stringify(started.content)).toBeFalsy();
      const batchId = (started.structuredContent as { batch_id: string }).batch_id;
      expect(batchId).toMatch(/^batch_/);

      // Kill the worker that has made the most drafts once the batch is under way: it holds slots and drafts.
      let victim = -1;
      let activeAtKill = 0;
      for (const t0 = Date.now(); Date.now() - t0 < 60_000; await sleep(100)) {
        const drafts = await reader.generation.listDrafts(batchId);
        const done = drafts.filter((d) => d.status === 'done').length;
        if (done >= 8) {
          activeAtKill = await activeDraftJobs();
          victim = 1;
          workers[victim]?.child.kill('SIGKILL');
          break;
        }
      }
      expect(victim).toBeGreaterThanOrEqual(0);
      expect((await workers[victim]!.exited).signal).toBe('SIGKILL');

      // The batch finishes on the two others (a dead worker's drafts come back after its heartbeat lapses).
      let status = 'running';
      let data: { status: string; progress: { done: number; failed: number; total: number }; drafts: Array<{ draft_id: string; cover_id: string | null; seed: number; server: string | null }>; contact_sheet: string | null; gpu_distribution: Record<string, number> } | undefined;
      for (const t0 = Date.now(); status === 'running' && Date.now() - t0 < 120_000; await sleep(500)) {
        const r = await client.callTool({ name: 'cover_batch', arguments: { batch_id: batchId } });
        expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
        data = r.structuredContent as typeof data;
        status = data!.status;
      }
      expect(status, workers.map((w) => w.stderr().slice(-2000)).join('\n---\n')).toBe('done');
      expect(data!.progress).toMatchObject({ done: 40, failed: 0, total: 40 });
      const coverIds = data!.drafts.map((d) => d.cover_id);
      expect(new Set(coverIds).size).toBe(40);
      expect(new Set(data!.drafts.map((d) => d.seed)).size).toBe(40);
      // Every server took part, and GPU work was repeated at most for what the dead worker held.
      expect(Object.keys(data!.gpu_distribution).sort()).toEqual(emus.map((e) => e.url).sort());
      const prompts = emus.reduce((a, e) => a + e.state.received.length, 0);
      // Each prompt beyond the 40 is a draft job the queue ran again (after the dead worker's heartbeat lapsed),
      // and only jobs held when the worker died were run again.
      const rerun = await rerunDraftJobs();
      expect(prompts - 40).toBeLessThanOrEqual(rerun);
      expect(rerun).toBeLessThanOrEqual(activeAtKill);
      expect(data!.contact_sheet).not.toBeNull();

      // A host that made nothing sees the finished batch and reads each image and the contact sheet from the bucket.
      const batch = await reader.generation.getBatch(batchId);
      expect(batch?.status).toBe('done');
      for (const id of coverIds) {
        const cover = await reader.covers.get(id as string);
        expect(cover).toBeDefined();
        const png = await reader.blobs.read({ sha256: cover!.blob_sha256, ext: 'png' });
        expect((await sharp(png).metadata()).width).toBe(1200);
      }
      const sheet = await reader.blobs.read({ sha256: batch!.contact_sheet_sha256 as string, ext: 'png' });
      expect((await sharp(sheet).metadata()).format).toBe('png');
    } finally {
      await reader.close();
      await client.close();
    }
  }, 240_000);
});

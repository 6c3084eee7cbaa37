/**
 * A batch on the cluster queue over two ComfyUI servers where one lacks two of the batch's three checkpoints:
 * the server that refused a draft never gets it again (the refusal is kept on the draft, for every worker), so
 * every draft ends on a server that has its checkpoint, within its attempts, as the in-process pool does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWorker } from '../../src/agent/worker.js';
import { startComfyEmulator, type ComfyEmulator } from '../emulators/comfyui.js';
import { makeTestApp } from '../support/app.js';
import { postgresBinDir, startPostgres, type RunningPostgres } from '../support/postgres.js';
import { dataOf } from '../support/result.js';

const CHECKPOINTS = ['beenyouLite_l15.safetensors', 'realisticVisionV60B1_v51VAE.safetensors', 'dreamshaper_8.safetensors', 'sd_xl_base_1.0.safetensors'];
const ONLY_ON_A = 'dreamshaper_8.safetensors';
const run = postgresBinDir() && process.env.LORALOOP_TEST_DATABASE !== 'postgres' ? describe : describe.skip;

let server: RunningPostgres;
const emus: ComfyEmulator[] = [];
beforeAll(async () => {
  if (!postgresBinDir() || process.env.LORALOOP_TEST_DATABASE === 'postgres') return;
  server = await startPostgres();
  // A is fast and has one checkpoint; B is slow and has them all. A's free slots reach for every draft first.
  emus.push(await startComfyEmulator({ stepMs: 2, steps: 4, name: 'gpu-a', checkpoints: [ONLY_ON_A] }));
  emus.push(await startComfyEmulator({ stepMs: 25, steps: 4, name: 'gpu-b', checkpoints: CHECKPOINTS }));
}, 60_000);
afterAll(async () => {
  for (const e of emus) await e.close();
  await server?.stop();
});

run('a draft a server refused goes to the other servers (cluster queue)', () => {
  it('ends every draft on a server that has its checkpoint, never offering it twice to the one that refused it', async () => {
    const [a, b] = emus as [ComfyEmulator, ComfyEmulator];
    const env = { LORALOOP_DATABASE_URL: await server.database('refusals'), LORALOOP_QUEUE: 'pg-boss', COMFYUI_URLS: `${a.url},${b.url}` };
    const generationOptions = {
      seed: 11,
      backends: { comfy: { pollIntervalMs: 20, maxPollFailures: 2, requestTimeoutMs: 5000, objectInfoTtlMs: 60_000 } },
    };
    const face = makeTestApp(env, { generationOptions });
    const worker = makeTestApp(env, { generationOptions });
    const stop = new AbortController();
    const working = runWorker(worker.app, { signal: stop.signal, calls: 1, nightly: false, trainings: 0, pollMs: 100 });
    try {
      const r = await face.app.tools.execute('cover_batch', { title: 'Solana rallies as ETF inflows hit $1B', count: 9, mode: 'explore', backend: 'comfyui', wait: true }, face.app.context('mcp'));
      const data = dataOf<{ status: string; batch_id: string; checkpoint_distribution: Record<string, number>; progress: { done: number; total: number } }>(r);
      expect(data.status).toBe('done');
      expect(data.progress).toMatchObject({ done: 9, failed: 0, total: 9 });
      // The batch really asked for checkpoints A lacks.
      expect(Object.keys(data.checkpoint_distribution).filter((c) => c !== ONLY_ON_A).length).toBeGreaterThan(0);

      const drafts = await face.app.services.store.generation.listDrafts(data.batch_id);
      const refusedByA = drafts.filter((d) => d.refused_by.includes(a.url));
      // The scenario happened: the fast server took drafts it could not make.
      expect(refusedByA.length).toBeGreaterThan(0);
      for (const d of drafts) {
        expect(d.status).toBe('done');
        // Never refused twice: at most the refusal and the attempt that made it.
        expect(d.attempts).toBeLessThanOrEqual(2);
        expect(d.refused_by.every((s) => s === a.url)).toBe(true);
        if (d.checkpoint !== ONLY_ON_A) expect(d.server).toBe(b.url);
      }
    } finally {
      stop.abort();
      await working;
      await face.dispose();
      await worker.dispose();
    }
  }, 90_000);
});

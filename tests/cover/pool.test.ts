/**
 * The pool scheduler against ComfyUI emulators: work moves off a server that stops answering (its sockets
 * stay open, nothing comes back) and off one that lacks a checkpoint; each task is delivered exactly once.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createComfyBackend } from '../../src/cover/backends/comfyui/index.js';
import { runPool, type PoolWorker } from '../../src/cover/backends/pool.js';
import { startComfyEmulator } from '../emulators/comfyui.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function worker(id: string, opts: Parameters<typeof startComfyEmulator>[0]) {
  const emu = await startComfyEmulator({ steps: 2, stepMs: 2, ...opts });
  const backend = createComfyBackend({ baseUrl: emu.url, pollIntervalMs: 20, maxPollFailures: 2, requestTimeoutMs: 400, safetyPollMs: 100 });
  cleanups.push(() => emu.close(), () => backend.client.close());
  const w: PoolWorker = { id, backend, concurrency: 1, queueLength: () => backend.client.queueLength() };
  return { emu, w };
}

const req = (i: number, checkpoint = 'sd_xl_base_1.0.safetensors') => ({ prompt: `draft ${i}`, width: 64, height: 64, seed: i, checkpoint });

describe('runPool', () => {
  it('moves work off a server that stops answering and delivers every task once', async () => {
    const a = await worker('a', {});
    const b = await worker('b', {});
    const got = new Map<number, string[]>();
    const report = await runPool([a.w, b.w], [0, 1, 2, 3, 4, 5, 6, 7], {
      run: (w, i, signal) => w.backend.generate({ ...req(i), abortSignal: signal }),
      deliver: async (i, w) => {
        got.set(i, [...(got.get(i) ?? []), w.id]);
        // After its first image, b stops answering: every HTTP answer now waits 10 s (past the deadline).
        if (w.id === 'b') b.emu.faults.latencyMs = 10_000;
      },
      minTimeoutMs: 600,
      probeMs: 100,
    });
    expect(report.outcomes.every((o) => o.status === 'done')).toBe(true);
    expect([...got.keys()].sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    for (const ws of got.values()) expect(ws).toHaveLength(1);
    expect(report.distribution.b).toBe(1);
    expect(report.distribution.a).toBe(7);
    expect(report.workers.find((w) => w.id === 'b')?.failed_attempts).toBeGreaterThanOrEqual(1);
    b.emu.faults.latencyMs = 0;
  }, 30_000);

  it('gives a task a server that has its checkpoint, and fails it with the reason when none has', async () => {
    const a = await worker('a', { checkpoints: ['only_a.safetensors'] });
    const b = await worker('b', { checkpoints: ['only_b.safetensors'] });
    const report = await runPool([a.w, b.w], ['only_a.safetensors', 'only_b.safetensors', 'nowhere.safetensors'], {
      run: (w, ck, signal) => w.backend.generate({ ...req(1, ck), abortSignal: signal }),
      deliver: async () => {},
      probeMs: 50,
    });
    const by = Object.fromEntries(report.outcomes.map((o) => [o.task, o]));
    expect(by['only_a.safetensors']).toMatchObject({ status: 'done', worker: 'a' });
    expect(by['only_b.safetensors']).toMatchObject({ status: 'done', worker: 'b' });
    expect(by['nowhere.safetensors']?.status).toBe('failed');
    expect(by['nowhere.safetensors']?.error).toContain('nowhere');
    // A refusal is not a crash: both servers stay in the pool.
    expect(report.workers.every((w) => !w.down)).toBe(true);
  }, 30_000);
});

/**
 * Generation bench: a 20-draft batch over 3 emulated ComfyUI servers of different speeds.
 *
 * The emulators run in a child process (their timers must not wait on our composition work). Each server's
 * time per image is measured first through the same client path the pool uses, with all three busy at once;
 * the ideal makespan is total work / total capacity = N / sum(1 / t_i). Figures:
 * - the pool scheduler alone (no composition): makespan / ideal, target <= 1.15x;
 * - the full cover_batch tool (composition of logo + title and storage included);
 * - the same with the fastest server crashing mid-batch: every draft delivered exactly once, and the makespan
 *   against the ideal that accounts for the lost capacity (the crashed server counts until it went down).
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { createComfyBackend } from '../../src/cover/backends/comfyui/index.js';
import { runPool, type PoolWorker } from '../../src/cover/backends/pool.js';
import type { GenerateRequest } from '../../src/cover/backends/types.js';
import { makeTestApp } from '../../tests/support/app.js';
import { median, type BenchSection } from '../lib.js';

const N = 20;
// Emulated sampler steps of 25/40/80 ms x 20 steps: 0.5-1.6 s per image, the scale of real SD1.5 drafts.
const STEP_MS = [25, 40, 80];
const STEPS = 20;
/** Prompts in flight per server (COMFY concurrency); env BENCH_COMFY_CONCURRENCY overrides for experiments. */
const CONCURRENCY = Number(process.env.BENCH_COMFY_CONCURRENCY ?? 2);

export interface Servers {
  urls: string[];
  send(cmd: Record<string, unknown>): Promise<Record<string, unknown>>;
  close(): Promise<void>;
}

/** Emulated ComfyUI servers in a child process (comfy-servers.ts), one per entry of `stepMs`. */
export async function startServers(stepMs: number[] = STEP_MS, steps = STEPS): Promise<Servers> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'comfy-servers.js'), stepMs.join(','), String(steps)], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async (): Promise<Record<string, unknown>> => {
    const r = await lines.next();
    if (r.done) throw new Error('the emulator process ended');
    return JSON.parse(r.value) as Record<string, unknown>;
  };
  const first = await next();
  return {
    urls: first.urls as string[],
    async send(cmd) {
      child.stdin.write(`${JSON.stringify(cmd)}\n`);
      return next();
    },
    async close() {
      child.stdin.write('{"cmd":"exit"}\n');
      await new Promise((r) => child.once('exit', r));
    },
  };
}

/** Ideal makespan: N images over servers with times t_i, server i usable until alive_i (ms from start). */
export function ideal(n: number, times: number[], alive: Array<number | null> = []): number {
  let lo = 0;
  let hi = n * Math.max(...times);
  for (let k = 0; k < 60; k++) {
    const mid = (lo + hi) / 2;
    const done = times.reduce((a, t, i) => a + Math.min(mid, alive[i] ?? Infinity) / t, 0);
    if (done >= n) hi = mid;
    else lo = mid;
  }
  return hi;
}

const request = (i: number): GenerateRequest => ({
  prompt: 'Solana (SOL) cryptocurrency, etf inflows, editorial news cover illustration',
  width: 896,
  height: 448,
  seed: 1000 + i,
  checkpoint: ['beenyouLite_l15.safetensors', 'realisticVisionV60B1_v51VAE.safetensors', 'dreamshaper_8.safetensors'][i % 3],
  baseModel: 'sd15',
});

export const generationBench: BenchSection = async (report) => {
  const servers = await startServers();
  const comfyOpts = { pollIntervalMs: 50, maxPollFailures: 2, requestTimeoutMs: 10_000 };
  const backends = servers.urls.map((url) => createComfyBackend({ baseUrl: url, ...comfyOpts }));
  try {
    // Calibrate: 4 images per server, all three servers busy at once; the median of the last 3.
    const times = await Promise.all(
      backends.map(async (b, s) => {
        const ts: number[] = [];
        for (let i = 0; i < 4; i++) {
          const t0 = performance.now();
          await b.generate(request(100 * s + i));
          ts.push(performance.now() - t0);
        }
        return median(ts.slice(1));
      }),
    );
    times.forEach((t, i) => report.add({ section: 'generation', name: `server ${i} (stepMs ${STEP_MS[i]}) time per image`, value: t, unit: 'ms' }));
    const ideal20 = ideal(N, times);
    report.add({ section: 'generation', name: `ideal makespan ${N} drafts (work / capacity)`, value: ideal20, unit: 'ms' });

    // 1. The scheduler alone.
    const workers: PoolWorker[] = backends.map((b, i) => ({ id: servers.urls[i] as string, backend: b, concurrency: CONCURRENCY, queueLength: () => b.client.queueLength() }));
    const delivered = new Map<number, number>();
    const pool = await runPool<number, unknown>(workers, Array.from({ length: N }, (_, i) => i), {
      run: (w, i, signal) => w.backend.generate({ ...request(i), abortSignal: signal }),
      deliver: async (i) => void delivered.set(i, (delivered.get(i) ?? 0) + 1),
      probeMs: 200,
    });
    report.add({ section: 'generation', name: 'pool: 20 drafts over 3 servers, makespan', value: pool.makespan_ms, unit: 'ms' });
    report.add({ section: 'generation', name: 'pool: makespan / ideal', value: pool.makespan_ms / ideal20, unit: 'x', target: '<= 1.15x', note: `split ${Object.values(pool.distribution).join('/')}` });

    // 1b. The scheduler alone with the fastest server crashing mid-sampling after its 3rd prompt.
    await servers.send({ cmd: 'reset' });
    await servers.send({ cmd: 'down_after', server: 0, prompts: 3 });
    const delivered2 = new Map<number, number>();
    const p0 = Date.now();
    const pool2 = await runPool<number, unknown>(workers, Array.from({ length: N }, (_, i) => i), {
      run: (w, i, signal) => w.backend.generate({ ...request(i), abortSignal: signal }),
      deliver: async (i) => void delivered2.set(i, (delivered2.get(i) ?? 0) + 1),
      probeMs: 200,
    });
    const st2 = await servers.send({ cmd: 'stats' });
    const down2 = (st2.down_at as Array<number | null>).map((d) => (d === null ? null : Math.max(0, d - p0)));
    const once2 = delivered2.size === N && [...delivered2.values()].every((n) => n === 1);
    report.add({ section: 'generation', name: 'pool failover: drafts delivered exactly once', value: once2 ? N : [...delivered2.values()].filter((n) => n === 1).length, unit: `of ${N}`, note: `prompts sent ${(st2.received as number[]).join('/')}, crash at ${down2[0] ?? '?'} ms` });
    report.add({ section: 'generation', name: 'pool failover: makespan / ideal with the lost capacity', value: pool2.makespan_ms / ideal(N, times, down2), unit: 'x', target: '<= 1.15x', note: `split ${Object.values(pool2.distribution).join('/')}` });
    await servers.send({ cmd: 'reset' });

    // 2. The full tool: planning, composition (logo + title) and storage included.
    const t = makeTestApp(
      { COMFYUI_URLS: servers.urls.join(',') },
      { generationOptions: { seed: 3, backends: { comfy: comfyOpts, comfyConcurrency: CONCURRENCY }, pool: { probeMs: 200 } } },
    );
    try {
      const a = t.app;
      // A serving process renders covers warm; pay the one-time font parsing (~0.3-2 s) before timing.
      await a.services.renderer.warmup();
      const run = async (title: string): Promise<{ ms: number; data: { batch_id: string; drafts: Array<{ cover_id: string | null; status: string }>; gpu_distribution: Record<string, number> } }> => {
        const t0 = performance.now();
        const r = await a.tools.execute('cover_batch', { title, count: N, backend: 'comfyui', mode: 'explore', wait: true }, a.context());
        if (!r.success) throw new Error(r.reasoning);
        return { ms: performance.now() - t0, data: r.data as never };
      };
      const full = await run('Solana ETF inflows hit $1B');
      report.add({ section: 'generation', name: 'cover_batch: 20 drafts, makespan (composition incl.)', value: full.ms, unit: 'ms' });
      const fullMeta = (await a.services.store.generation.getBatch(full.data.batch_id))?.meta as { pool_ms?: number; makespan_ms?: number } | undefined;
      report.add({ section: 'generation', name: 'cover_batch: makespan / ideal', value: full.ms / ideal20, unit: 'x', note: `split ${servers.urls.map((u) => full.data.gpu_distribution[u] ?? 0).join('/')}; until last draft stored ${fullMeta?.pool_ms ?? '?'} ms, run ${fullMeta?.makespan_ms ?? '?'} ms` });

      // 3. The same through the tool: the fastest server crashes mid-sampling after its 3rd prompt.
      await servers.send({ cmd: 'reset' });
      await servers.send({ cmd: 'down_after', server: 0, prompts: 3 });
      const t0 = Date.now();
      const failed = await run('Bitcoin slides below $60K as miners sell');
      const st = await servers.send({ cmd: 'stats' });
      const downAt = (st.down_at as Array<number | null>).map((d) => (d === null ? null : Math.max(0, d - t0)));
      const covers = new Set(failed.data.drafts.map((d) => d.cover_id).filter(Boolean));
      const stored = await a.services.store.covers.count({ batch_id: failed.data.batch_id });
      const exactlyOnce = failed.data.drafts.every((d) => d.status === 'done') && covers.size === N && stored === N;
      const idealFail = ideal(N, times, downAt);
      report.add({ section: 'generation', name: 'failover: drafts delivered exactly once', value: exactlyOnce ? N : covers.size, unit: `of ${N}`, note: `${stored} covers stored, prompts sent ${(st.received as number[]).join('/')}` });
      report.add({ section: 'generation', name: 'failover: makespan (server 0 crashed)', value: failed.ms, unit: 'ms', note: `crash at ${downAt[0] ?? '?'} ms, split ${servers.urls.map((u) => failed.data.gpu_distribution[u] ?? 0).join('/')}` });
      report.add({ section: 'generation', name: 'failover: makespan / ideal with the lost capacity', value: failed.ms / idealFail, unit: 'x' });
      report.add({ section: 'generation', name: 'failover: makespan / ideal without failure', value: failed.ms / ideal20, unit: 'x' });
    } finally {
      await t.dispose();
    }
  } finally {
    for (const b of backends) b.client.close();
    await servers.close();
  }
};

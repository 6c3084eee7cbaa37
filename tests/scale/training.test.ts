/**
 * A training outlives the worker that follows it: two `loraloop worker` processes (each its own home, as if on
 * its own host) with Replicate configured, an MCP server on a third host without any training backend, one
 * PostgreSQL (store and pg-boss queue), one S3 bucket, and the Replicate emulator. A LoRA project of real photos
 * is created and trained through the MCP host; the worker that follows the training is killed with SIGKILL
 * while the remote training runs, and the other worker takes it over from the queue.
 */
import type { Client } from '@modelcontextprotocol/client';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startReplicateEmulator, type ReplicateEmulator } from '../emulators/replicate.js';
import { startCluster, type ClusterProcess, type TestCluster } from '../support/cluster.js';
import { postgresBinDir } from '../support/postgres.js';

// The suite's database does not matter here (the cluster brings its own): run once, in the SQLite pass.
const run = postgresBinDir() && process.env.LORALOOP_TEST_DATABASE !== 'postgres' ? describe : describe.skip;

const PHOTOS = ['coco-skate-park.jpg', 'coco-tennis.jpg', 'coco-skiing.jpg', 'sk-cat.jpg', 'nasa-rocket.jpg', 'coco-frisbee.jpg'];
const PEOPLE = new URL('../fixtures/people/', import.meta.url).pathname;
// Each poll of the training moves it one tick: it only advances while someone follows it.
const TICKS = 40;

let cluster: TestCluster;
let emu: ReplicateEmulator;
beforeAll(async () => {
  cluster = await startCluster();
  emu = await startReplicateEmulator({ trainingPlan: { progressTicks: TICKS } });
}, 60_000);
afterAll(async () => {
  await emu?.close();
  await cluster?.stop();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pgRows<T>(sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: cluster.databaseUrl });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

/** The pids of the processes whose runner logged that it follows `jobId`, in order. */
function followers(workers: ClusterProcess[], jobId: string): number[] {
  const seen: Array<{ t: string; pid: number }> = [];
  for (const w of workers) {
    for (const line of w.stderr().split('\n')) {
      let r: { t: string; msg?: string; job_id?: string };
      try {
        r = JSON.parse(line) as typeof r;
      } catch {
        continue; // not a log record (or the last one of a killed process, cut short)
      }
      if (r.msg === 'following training job' && r.job_id === jobId) seen.push({ t: r.t, pid: w.child.pid as number });
    }
  }
  return seen.sort((a, b) => a.t.localeCompare(b.t)).map((s) => s.pid);
}

async function callOk<T>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const r = await client.callTool({ name, arguments: args });
  expect(r.isError, `${name}: ${JSON.stringify(r.content)}`).toBeFalsy();
  return r.structuredContent as T;
}

run('a training whose worker is killed', () => {
  it('ends ready through the other worker, with one remote training, and a fresh host reads its weights', async () => {
    const replicate = {
      REPLICATE_API_TOKEN: emu.token,
      REPLICATE_BASE_URL: emu.url,
      LORALOOP_REPLICATE_DESTINATION: `${emu.account}/brand-loras`,
      LORALOOP_TRAINING_POLL_MS: '200',
      // A killed follower's lease lapses within 3 s; its queue job comes back when its heartbeat (10 s) lapses.
      LORALOOP_TRAINING_LEASE_MS: '3000',
    };
    const workers = [0, 1].map((i) => cluster.spawn(`worker${i}`, ['worker', '--calls', '2', '--no-drafts', '--no-nightly'], replicate));
    // The MCP host has no Replicate token: lora_train runs on a worker, and lora_status only reads and queues.
    const mcpHome = cluster.home('mcp');
    mkdirSync(join(mcpHome, 'photos'));
    for (const f of PHOTOS) copyFileSync(join(PEOPLE, f), join(mcpHome, 'photos', f));
    const client = await cluster.mcpClient(mcpHome, 'scale-training-test');
    const reader = cluster.freshStore('reader');
    const logs = () => workers.map((w, i) => `--- worker${i} (pid ${w.child.pid})\n${w.stderr().slice(-3000)}`).join('\n');
    try {
      const { lora_id: loraId } = await callOk<{ lora_id: string }>(client, 'lora_create', { name: 'kill-follower', base_model: 'flux', asset_type: 'character', trigger_word: 'sks crew' });
      const up = await callOk<{ results: Array<{ ok: boolean; error?: string }> }>(client, 'lora_upload_images', {
        lora_id: loraId,
        images: PHOTOS.map((f, i) => ({ path: join(mcpHome, 'photos', f), caption: `a candid photograph, scene ${i + 1}, natural light` })),
      });
      expect(up.results.filter((r) => !r.ok)).toEqual([]);

      const train = await callOk<{ job_id: string; status: string; started: boolean }>(client, 'lora_train', { lora_id: loraId, backend: 'replicate', params: { steps: 400 } });
      expect(train).toMatchObject({ status: 'queued', started: true });
      const jobId = train.job_id;

      // Kill the follower once the remote training is visibly under way (it advances only while polled).
      let victim: ClusterProcess | undefined;
      let tickAtKill = 0;
      for (const t0 = Date.now(); !victim && Date.now() - t0 < 60_000; await sleep(50)) {
        const remote = emu.state.trainings[0];
        const job = await reader.jobs.get(jobId);
        const pid = Number(/:(\d+):[0-9a-f]+$/.exec(job?.owner ?? '')?.[1]);
        if (remote?.status === 'processing' && remote.sim.tick >= 3 && job?.remote_id === remote.id) {
          victim = workers.find((w) => w.child.pid === pid);
          tickAtKill = remote.sim.tick;
          victim?.child.kill('SIGKILL');
        }
      }
      expect(victim, logs()).toBeDefined();
      expect((await victim!.exited).signal).toBe('SIGKILL');
      const survivor = workers.find((w) => w !== victim)!;
      const killedAt = Date.now();
      expect(emu.state.trainings[0]?.status).toBe('processing');
      expect(tickAtKill).toBeLessThan(TICKS);

      // The face waits; the survivor takes the training over from the queue and follows it to the end.
      let status: { status: string; version: number | null; done: boolean } | undefined;
      for (const t0 = Date.now(); !status?.done && Date.now() - t0 < 120_000; ) {
        status = await callOk<{ status: string; version: number | null; done: boolean }>(client, 'lora_status', { job_id: jobId, wait_seconds: 15 });
      }
      expect(status, logs()).toMatchObject({ status: 'ready', version: 1, done: true });
      const tookOver = Date.now() - killedAt;

      // The survivor finished it, after the victim had started it; exactly one training was ever created.
      expect(followers(workers, jobId)).toEqual([victim!.child.pid, survivor.child.pid]);
      expect(emu.state.trainings).toHaveLength(1);
      expect(emu.state.requests.filter((r) => r.method === 'POST' && /\/trainings$/.test(r.path))).toHaveLength(1);
      expect(emu.state.trainings[0]?.status).toBe('succeeded');
      // The worker built the training zip from the photos the MCP host had put in the bucket.
      expect(emu.state.trainings[0]?.sim.imageCount).toBe(PHOTOS.length);
      // One queue job for the training, run twice (the victim's attempt lapsed), now completed.
      const qjobs = await pgRows<{ state: string; retry_count: number }>(`SELECT state, retry_count FROM pgboss.job WHERE name = 'loraloop.trainings.replicate'`);
      expect(qjobs).toHaveLength(1);
      expect(qjobs[0]?.state).toBe('completed');
      expect(qjobs[0]?.retry_count).toBeGreaterThanOrEqual(1);

      // A host that took no part reads the registered version and its weights from the bucket.
      const versions = await reader.loras.listVersions(loraId);
      expect(versions.map((v) => [v.version, v.status, v.job_id])).toEqual([[1, 'ready', jobId]]);
      const v = versions[0]!;
      expect(v.remote_version).toBe((emu.state.trainings[0]?.output as { version?: string } | null)?.version);
      const weights = await reader.blobs.read({ sha256: v.file_sha256 as string, ext: 'safetensors' });
      expect(weights.length).toBe(v.file_bytes);
      // A safetensors file: an 8-byte little-endian header length, then that much JSON naming the tensors.
      const headerLength = Number(weights.readBigUInt64LE(0));
      const header = JSON.parse(weights.subarray(8, 8 + headerLength).toString('utf8')) as Record<string, unknown>;
      expect(Object.keys(header).some((k) => k.includes('lora'))).toBe(true);
      expect((await reader.loras.get(loraId))?.active_version).toBe(1);
      console.log(`training taken over and finished ${(tookOver / 1000).toFixed(1)} s after the SIGKILL (remote tick ${tickAtKill}/${TICKS} at the kill)`);
    } finally {
      await reader.close();
      await client.close();
    }
  }, 240_000);
});

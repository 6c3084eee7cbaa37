/**
 * The cluster job queue (pg-boss on a real PostgreSQL) and the shared GPU slots, as the rest of loraloop relies
 * on them: idempotency keys, completion inside the caller's transaction, a lapsed attempt recording nothing,
 * slots given back when their holder's connection dies, one schedule per cluster, and a face's tool call run
 * by a worker with its result readable from the face.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWorker } from '../../src/agent/worker.js';
import { loadConfig } from '../../src/core/config.js';
import { createStore } from '../../src/store/index.js';
import { createBossQueue, createSlotLocks, type JobQueue, type QueueSpec } from '../../src/store/queue/index.js';
import { lockKeysFor } from '../../src/store/queue/keys.js';
import { CALL_QUEUE } from '../../src/tools/queued.js';
import { makeTestApp } from '../support/app.js';
import { postgresBinDir, startPostgres, type RunningPostgres } from '../support/postgres.js';
import { dataOf, errorOf } from '../support/result.js';

const quiet = { warn: () => undefined };
const run = postgresBinDir() && process.env.LORALOOP_TEST_DATABASE !== 'postgres' ? describe : describe.skip;
let server: RunningPostgres;
const queues: JobQueue[] = [];
beforeAll(async () => {
  if (postgresBinDir() && process.env.LORALOOP_TEST_DATABASE !== 'postgres') server = await startPostgres();
}, 60_000);
afterAll(async () => {
  for (const q of queues) await q.stop();
  await server?.stop();
});

function queueOn(url: string): JobQueue {
  const q = createBossQueue({ url, logger: quiet });
  queues.push(q);
  return q;
}
const spec = (name: string): QueueSpec => ({ name, retryLimit: 2, heartbeatSeconds: 10, expireInSeconds: 60 });
/** What a wait of 60 s has done after `ms`: only a wake-up can end it that soon. */
const outcome = (wait: Promise<void>, ms = 5000) => Promise.race([wait.then(() => 'woken'), new Promise((r) => setTimeout(() => r('still waiting'), ms))]);

async function sql<R extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, values)).rows;
  } finally {
    await c.end();
  }
}

describe('LORALOOP_QUEUE', () => {
  it('needs LORALOOP_DATABASE_URL, and says so', () => {
    expect(() => loadConfig({ LORALOOP_QUEUE: 'pg-boss' }, '/tmp')).toThrow(/LORALOOP_QUEUE=pg-boss needs LORALOOP_DATABASE_URL/);
    expect(() => loadConfig({ LORALOOP_QUEUE: 'rabbit' }, '/tmp')).toThrow(/LORALOOP_QUEUE/);
  });

  it('a worker without a queue refuses to start, naming the variables', async () => {
    const t = makeTestApp();
    try {
      await expect(runWorker(t.app, { signal: new AbortController().signal })).rejects.toMatchObject({ code: 'NOT_CONFIGURED', hint: expect.stringMatching(/LORALOOP_QUEUE=pg-boss/) });
    } finally {
      await t.dispose();
    }
  });
});

run('the job queue on PostgreSQL', () => {
  it('drops a second send with the same key, alone or in a batch', async () => {
    const q = queueOn(await server.database('keys'));
    const s = spec('t.keys');
    expect(await q.send(s, { n: 1 }, { key: 'draft_1' })).toMatch(/^[0-9a-f-]{36}$/);
    expect(await q.send(s, { n: 2 }, { key: 'draft_1' })).toBeNull();
    expect(await q.sendMany(s, [{ data: { n: 3 }, key: 'draft_1' }, { data: { n: 4 }, key: 'draft_2' }, { data: { n: 5 }, key: 'draft_3' }])).toBe(2);
    expect(await q.waiting(s)).toBe(3);
    const jobs = await q.fetch<{ n: number }>(s, 10);
    expect(jobs.map((j) => j.data.n).sort()).toEqual([1, 4, 5]);
    // A job whose every attempt failed (dead workers) is revived by sending its key again; the others stay.
    const first = jobs.find((j) => j.data.n === 1)!;
    await q.complete(jobs.find((j) => j.data.n === 4)!);
    let attempt = first;
    for (let i = 0; i <= s.retryLimit; i++) {
      await q.fail(attempt, 'worker died');
      attempt = (await q.fetch<{ n: number }>(s, 10)).find((j) => j.id === first.id) ?? attempt;
    }
    expect(await q.waiting(s)).toBe(0);
    expect(await q.sendMany(s, [{ data: { n: 1 }, key: 'draft_1' }, { data: { n: 4 }, key: 'draft_2' }])).toBe(0);
    const revived = await q.fetch<{ n: number }>(s, 10);
    expect(revived.map((j) => j.id)).toEqual([first.id]);
  });

  it('settles a job with the transaction that records its result, and not without it', async () => {
    const url = await server.database('tx');
    const q = queueOn(url);
    const store = createStore('/nonexistent-home', undefined, { databaseUrl: url });
    try {
      const s = spec('t.tx');
      await q.send(s, {});
      const [job] = await q.fetch(s);
      const row = await store.jobs.create({ kind: 'call', status: 'running', state: {} });
      // The transaction fails after completing: neither the row nor the job's completion stays.
      await expect(
        store.transaction(async (tx) => {
          await tx.jobs.update(row.id, { status: 'succeeded' });
          expect(await q.complete(job!, { ok: true }, tx)).toBe(true);
          throw new Error('the result could not be stored');
        }),
      ).rejects.toThrow('could not be stored');
      expect((await store.jobs.get(row.id))?.status).toBe('running');
      expect((await sql<{ state: string }>(url, 'SELECT state FROM pgboss.job WHERE id = $1', [job!.id]))[0]?.state).toBe('active');
      // Now it succeeds: both at once.
      await store.transaction(async (tx) => {
        await tx.jobs.update(row.id, { status: 'succeeded' });
        expect(await q.complete(job!, { ok: true }, tx)).toBe(true);
      });
      expect((await store.jobs.get(row.id))?.status).toBe('succeeded');
      expect((await sql<{ state: string }>(url, 'SELECT state FROM pgboss.job WHERE id = $1', [job!.id]))[0]?.state).toBe('completed');
    } finally {
      await store.close();
    }
  });

  it('an attempt that lapsed cannot settle the job another worker now holds', async () => {
    const q = queueOn(await server.database('lapse'));
    const s = spec('t.lapse');
    await q.send(s, {});
    const [first] = await q.fetch(s);
    await q.fail(first!, 'worker went quiet'); // as the heartbeat monitor does for a dead worker
    const [second] = await q.fetch(s);
    expect(second?.id).toBe(first?.id);
    expect(second?.retryCount).toBe(1);
    expect(await q.complete(first!)).toBe(false);
    expect(await q.complete(second!)).toBe(true);
  });

  it('a send wakes the processes waiting on its queue at once, and a result wakes its face only once committed', async () => {
    const url = await server.database('signals');
    const sender = queueOn(url);
    const listener = queueOn(url);
    const s = spec('t.signals');
    const work = listener.onWork(s);
    const other = listener.onWork(spec('t.elsewhere'));
    await work.ready;
    const waiting = work.next(60_000);
    const elsewhere = other.next(60_000);
    await sender.send(s, { n: 1 });
    expect(await outcome(waiting)).toBe('woken');
    expect(await outcome(elsewhere, 1000)).toBe('still waiting');
    other.close();
    // News that comes while nobody waits is kept for the next wait.
    await sender.sendMany(s, [{ data: { n: 2 }, key: 'k2' }]);
    await new Promise((r) => setTimeout(r, 300));
    expect(await outcome(work.next(60_000))).toBe('woken');
    work.close();

    const store = createStore('/nonexistent-home', undefined, { databaseUrl: url });
    try {
      const [job] = await listener.fetch(s);
      const settled = sender.onSettled(job!.id);
      await settled.ready;
      const rolledBack = settled.next(60_000);
      await expect(
        store.transaction(async (tx) => {
          await listener.complete(job!, {}, tx);
          throw new Error('the result could not be stored');
        }),
      ).rejects.toThrow('could not be stored');
      expect(await outcome(rolledBack, 1500)).toBe('still waiting');
      await store.transaction(async (tx) => {
        await listener.complete(job!, {}, tx);
      });
      expect(await outcome(rolledBack)).toBe('woken');
      settled.close();
    } finally {
      await store.close();
    }
  }, 30_000);

  it('a lost wake-up connection wakes its waiters to look, and listening comes back by itself', async () => {
    const url = await server.database('signals_lost');
    const sender = queueOn(url);
    const listener = queueOn(url);
    const s = spec('t.signals_lost');
    const work = listener.onWork(s);
    await work.ready;
    const waiting = work.next(60_000);
    // The database drops the listening session (a failover, an admin): sends meanwhile would go unheard.
    const killed = await sql<{ ok: boolean }>(url, `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = 'loraloop-signals' AND datname = current_database()`);
    expect(killed.length).toBeGreaterThan(0);
    expect(await outcome(waiting)).toBe('woken');
    // It listens again on a later wait (at most one try per 5 s), and sends wake it again. The first sends may
    // come before the new session listens (a busy machine): each try is a new send.
    await new Promise((r) => setTimeout(r, 5200));
    let seen = 'still waiting';
    for (let i = 0; i < 10 && seen !== 'woken'; i++) {
      const again = work.next(60_000);
      await sender.send(s, { n: i });
      seen = (await outcome(again, 1000)) as string;
    }
    expect(seen).toBe('woken');
    work.close();
  }, 30_000);

  it('a GPU slot is held by one process, and comes back when its holder dies', async () => {
    const url = await server.database('slots');
    const a = createSlotLocks(url, quiet);
    const b = createSlotLocks(url, quiet);
    try {
      expect(await a.tryAcquire('comfyui:http://gpu1:8188#0')).toBe(true);
      expect(await a.tryAcquire('comfyui:http://gpu1:8188#0')).toBe(true); // already its own
      expect(await b.tryAcquire('comfyui:http://gpu1:8188#0')).toBe(false);
      expect(await b.tryAcquire('comfyui:http://gpu1:8188#1')).toBe(true); // another slot of the same server
      await a.release('comfyui:http://gpu1:8188#0');
      expect(await b.tryAcquire('comfyui:http://gpu1:8188#0')).toBe(true);
      await b.release('comfyui:http://gpu1:8188#0');
      // A holds it again, then its connection dies (a killed worker): PostgreSQL frees the slot by itself.
      expect(await a.tryAcquire('comfyui:http://gpu1:8188#0')).toBe(true);
      expect(await b.tryAcquire('comfyui:http://gpu1:8188#0')).toBe(false);
      // The session that holds it: advisory locks of the two-key form show the keys as classid and objid.
      const [k1, k2] = lockKeysFor(0x736c6f74, 'comfyui:http://gpu1:8188#0');
      const pids = await sql<{ pid: number }>(url, `SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1 AND objid = $2`, [k1 >>> 0, k2 >>> 0]);
      expect(pids.length).toBe(1);
      await sql(url, 'SELECT pg_terminate_backend($1)', [pids[0]!.pid]);
      for (let i = 0; i < 50 && a.healthy; i++) await new Promise((r) => setTimeout(r, 20));
      expect(a.healthy).toBe(false);
      expect(await b.tryAcquire('comfyui:http://gpu1:8188#0')).toBe(true);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a schedule registered by every worker exists once for the cluster', async () => {
    const url = await server.database('cron');
    const s = spec('t.nightly');
    await Promise.all([queueOn(url), queueOn(url), queueOn(url)].map((q) => q.schedule(s, '0 3 * * *', {}, 'Europe/Paris')));
    const rows = await sql<{ cron: string; timezone: string }>(url, `SELECT cron, timezone FROM pgboss.schedule WHERE name = 't.nightly'`);
    expect(rows).toEqual([{ cron: '0 3 * * *', timezone: 'Europe/Paris' }]);
  });

  it('workers register the nightly run in LORALOOP_IMPROVE_TZ, and refuse a pattern that is not a cron', async () => {
    const url = await server.database('nightly_tz');
    const env = { LORALOOP_DATABASE_URL: url, LORALOOP_QUEUE: 'pg-boss', LORALOOP_IMPROVE_TZ: 'Asia/Tokyo', LORALOOP_IMPROVE_CRON: '30 2 * * *' };
    const worker = makeTestApp(env);
    const bad = makeTestApp({ ...env, LORALOOP_IMPROVE_CRON: 'every night' });
    const stop = new AbortController();
    try {
      const running = runWorker(worker.app, { signal: stop.signal, calls: 0, drafts: false, trainings: 0 });
      let rows: Array<{ cron: string; timezone: string }> = [];
      for (let i = 0; i < 100 && rows.length === 0; i++) {
        // The pgboss schema appears when the worker's queue has started.
        rows = await sql<{ cron: string; timezone: string }>(url, `SELECT cron, timezone FROM pgboss.schedule WHERE name = 'loraloop.nightly'`).catch(() => []);
        if (!rows.length) await new Promise((r) => setTimeout(r, 100));
      }
      expect(rows).toEqual([{ cron: '30 2 * * *', timezone: 'Asia/Tokyo' }]);
      await expect(runWorker(bad.app, { signal: stop.signal, calls: 0, drafts: false, trainings: 0 })).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(/LORALOOP_IMPROVE_CRON "every night"/) });
      // The bad one changed nothing.
      expect(await sql(url, `SELECT cron, timezone FROM pgboss.schedule WHERE name = 'loraloop.nightly'`)).toEqual([{ cron: '30 2 * * *', timezone: 'Asia/Tokyo' }]);
      stop.abort();
      await running;
    } finally {
      stop.abort();
      await worker.dispose();
      await bad.dispose();
    }
  }, 60_000);

  it("a face's GPU call goes to a worker; the face hands over, and job_status reads the worker's result", async () => {
    const url = await server.database('calls');
    const env = { LORALOOP_DATABASE_URL: url, LORALOOP_QUEUE: 'pg-boss' };
    const face = makeTestApp(env);
    const worker = makeTestApp(env);
    const stop = new AbortController();
    try {
      // No worker yet: the call waits until its deadline, then hands over a job that is not "lost".
      const ctx = { ...face.app.context('mcp'), deadline: Date.now() + 2500 };
      const first = dataOf<{ status: string; job_id: string }>(await face.app.tools.execute('cover_generate', { title: 'Solana ETF inflows hit $1B', seed: 3 }, ctx));
      expect(first.status).toBe('running');
      const pending = dataOf<{ status: string }>(await face.app.tools.execute('job_status', { job_id: first.job_id }, face.app.context('mcp')));
      expect(pending.status).toBe('running');
      // A worker starts and runs it; the face reads the result from the shared store.
      const running = runWorker(worker.app, { signal: stop.signal, calls: 1, drafts: false, nightly: false, trainings: 0, pollMs: 100 });
      const done = dataOf<{ status: string; result: { path: string; coins: Array<{ symbol: string }> } }>(
        await face.app.tools.execute('job_status', { job_id: first.job_id, wait_seconds: 30 }, face.app.context('mcp')),
      );
      expect(done.status).toBe('succeeded');
      expect(done.result.coins[0]?.symbol).toBe('SOL');
      // The face itself never ran it: its home has no blob; the worker's has the cover.
      expect(done.result.path.startsWith(worker.home)).toBe(true);
      // A call with a path on the caller's host runs where it was asked.
      const local = await face.app.tools.execute('cover_generate', { title: 'Bitcoin slides below $60K', seed: 4, out: `${face.home}/cover.png` }, face.app.context('mcp'));
      expect(local.success, local.reasoning).toBe(true);
      stop.abort();
      await running;
      // Bad input is refused by the face before anything is queued.
      expect(errorOf(await face.app.tools.execute('cover_generate', { seed: -1 }, face.app.context('mcp'))).code).toBe('INVALID_INPUT');
    } finally {
      stop.abort();
      await face.dispose();
      await worker.dispose();
    }
  }, 60_000);

  it('a call whose every worker died is reported lost, not running forever', async () => {
    const url = await server.database('lost');
    const face = makeTestApp({ LORALOOP_DATABASE_URL: url, LORALOOP_QUEUE: 'pg-boss' });
    const q = queueOn(url);
    try {
      const ctx = { ...face.app.context('mcp'), deadline: Date.now() + 1500 };
      const handed = dataOf<{ status: string; job_id: string }>(await face.app.tools.execute('cover_generate', { title: 'Solana ETF inflows hit $1B' }, ctx));
      expect(handed.status).toBe('running');
      // Three workers in a row take it and die (the heartbeat monitor fails each attempt).
      for (let i = 0; i <= CALL_QUEUE.retryLimit; i++) {
        const [job] = await q.fetch(CALL_QUEUE);
        expect(job?.data).toMatchObject({ call_id: handed.job_id, tool: 'cover_generate' });
        await q.fail(job!, 'worker stopped heartbeating');
      }
      const st = dataOf<{ status: string; error: string }>(await face.app.tools.execute('job_status', { job_id: handed.job_id }, face.app.context('mcp')));
      expect(st.status).toBe('lost');
      expect(st.error).toMatch(/stopped before it finished/);
    } finally {
      await face.dispose();
    }
  }, 30_000);
});

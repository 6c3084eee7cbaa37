/**
 * The job queue on pg-boss, in the cluster's PostgreSQL (LORALOOP_DATABASE_URL), in its own `pgboss` schema.
 * pg-boss gives what loraloop needs and would otherwise write: SKIP LOCKED fetches, retries, heartbeats that
 * hand a dead worker's job to another, cron schedules that fire once per cluster, and settling a job inside
 * the caller's transaction. Loaded on first use, so a process on SQLite never loads it.
 */
import type { PgBoss } from 'pg-boss';
import type { Logger } from '../../core/logger.js';
import { LoraloopError } from '../../core/errors.js';
import type { Repos } from '../index.js';
import { transactionOf } from '../tx.js';
import { jobIdFor } from './keys.js';
import { createQueueSignals, settledTopic, SIGNAL_CHANNEL, workTopic } from './signals.js';
import type { JobQueue, QueueJob, QueueSpec, SendOptions } from './types.js';

export interface BossQueueOptions {
  url: string;
  logger: Pick<Logger, 'warn'>;
  /** How often the cluster looks for jobs whose worker stopped heartbeating (seconds, default 5). */
  superviseSeconds?: number;
}

export function createBossQueue(o: BossQueueOptions): JobQueue {
  let starting: Promise<PgBoss> | undefined;
  const created = new Map<string, Promise<void>>();
  const boss = (): Promise<PgBoss> =>
    (starting ??= (async () => {
      const { PgBoss } = await import('pg-boss');
      const b = new PgBoss({
        connectionString: o.url,
        application_name: 'loraloop-queue',
        max: 4,
        superviseIntervalSeconds: o.superviseSeconds ?? 5,
        monitorIntervalSeconds: o.superviseSeconds ?? 5,
      });
      // pg-boss reports its background failures (a maintenance query that lost the server) here; unheard,
      // an 'error' event would end the process.
      b.on('error', (e: unknown) => o.logger.warn('job queue error', { error: e instanceof Error ? e.message : String(e) }));
      try {
        await b.start();
      } catch (e) {
        starting = undefined;
        throw new LoraloopError('STORE_ERROR', `Cannot start the job queue on PostgreSQL: ${(e as Error).message}.`, {
          hint: 'Check LORALOOP_DATABASE_URL and that the role may create the pgboss schema.',
          cause: e,
        });
      }
      return b;
    })());
  const ready = async (q: QueueSpec): Promise<PgBoss> => {
    const b = await boss();
    let c = created.get(q.name);
    if (!c) {
      c = (async () => {
        const settings = {
          retryLimit: q.retryLimit,
          retryDelay: q.retryDelaySeconds ?? 0,
          heartbeatSeconds: Math.max(10, q.heartbeatSeconds),
          expireInSeconds: q.expireInSeconds,
        };
        if (await b.getQueue(q.name)) await b.updateQueue(q.name, settings);
        else await b.createQueue(q.name, settings).catch(async (e: unknown) => {
          // Two processes creating it at once: the other one won.
          if (!(await b.getQueue(q.name))) throw e;
        });
      })();
      created.set(q.name, c);
      c.catch(() => created.delete(q.name));
    }
    await c;
    return b;
  };
  const attempt = (job: QueueJob<unknown>) => ({ id: job.id, retryCount: job.retryCount });
  const signals = createQueueSignals(o.url, o.logger);
  /** Tell listening processes (inside `db`'s transaction when given: delivered at commit, never for a rollback). */
  const notify = async (topic: string, db?: { executeSql(text: string, values?: unknown[]): Promise<unknown> }): Promise<void> => {
    try {
      await (db ?? (await boss()).getDb()).executeSql('SELECT pg_notify($1, $2)', [SIGNAL_CHANNEL, topic]);
    } catch (e) {
      if (db) throw e; // part of the caller's transaction: its failure is the transaction's
      o.logger.warn('could not announce a queue change; listeners find it at their next look', { topic, error: String(e) });
    }
  };

  return {
    async send(q, data, options: SendOptions = {}) {
      const b = await ready(q);
      const id = await b.send(q.name, data, {
        ...(options.key ? { id: jobIdFor(q.name, options.key) } : {}),
        ...(options.startAfterSeconds ? { startAfter: options.startAfterSeconds } : {}),
      });
      if (id && !options.startAfterSeconds) await notify(workTopic(q.name));
      return id;
    },
    async sendMany(q, items) {
      if (items.length === 0) return 0;
      const b = await ready(q);
      // pg-boss inserts with ON CONFLICT DO NOTHING: ids already there (the same keys) are skipped.
      const all = items.map((i) => ({ id: jobIdFor(q.name, i.key), data: i.data }));
      const ids = await b.insert(q.name, all, { returnId: true });
      // pg-boss's retry touches only jobs in the failed state, and gives each one more attempt.
      if ((ids?.length ?? 0) < all.length) await b.retry(q.name, all.map((j) => j.id));
      await notify(workTopic(q.name));
      return ids?.length ?? 0;
    },
    async fetch<T extends object>(q: QueueSpec, count = 1) {
      const b = await ready(q);
      const jobs = await b.fetch<T>(q.name, { batchSize: count });
      return jobs.map((j) => ({ id: j.id, queue: q, data: j.data, retryCount: j.retryCount }));
    },
    hold(job) {
      const every = (Math.max(10, job.queue.heartbeatSeconds) * 1000) / 2;
      const timer = setInterval(() => {
        void boss()
          .then((b) => b.touch(job.queue.name, attempt(job)))
          .catch((e: unknown) => o.logger.warn('could not keep a job alive', { job: job.id, error: String(e) }));
      }, every);
      timer.unref();
      return () => clearInterval(timer);
    },
    async complete(job, output, tx?: Repos) {
      const b = await boss();
      const trx = tx ? transactionOf(tx) : undefined;
      if (tx && !trx) throw new LoraloopError('INTERNAL', 'complete() was given repos that are not a store transaction.');
      const db = trx ? (await import('pg-boss')).fromKysely(trx) : undefined;
      const r = await b.complete(job.queue.name, attempt(job), output ?? null, db ? { db } : undefined);
      // pg-boss's typings leave CommandResponse empty; at run time it carries `affected`.
      const done = ((r as { affected?: number }).affected ?? 0) > 0;
      if (done) await notify(settledTopic(job.id), db);
      return done;
    },
    async fail(job, error) {
      const b = await boss();
      await b.fail(job.queue.name, attempt(job), { message: error });
      // Either it goes back to the queue for another attempt or it failed for good: both are news.
      await notify(workTopic(job.queue.name));
      await notify(settledTopic(job.id));
    },
    async stateOf(q, key) {
      const b = await ready(q);
      const job = await b.getJobById(q.name, jobIdFor(q.name, key));
      if (!job) return null;
      return job.state === 'created' || job.state === 'retry' ? 'waiting' : job.state;
    },
    async waiting(q) {
      const b = await ready(q);
      const r = await b.getDb().executeSql(`SELECT count(*)::int AS n FROM pgboss.job WHERE name = $1 AND state < 'active' AND start_after <= now()`, [q.name]);
      return Number((r.rows[0] as { n?: unknown } | undefined)?.n ?? 0);
    },
    async schedule(q, cron, data, timezone) {
      const b = await ready(q);
      await b.schedule(q.name, cron, data ?? null, { tz: timezone ?? 'UTC' });
    },
    async unschedule(q) {
      const b = await ready(q);
      await b.unschedule(q.name);
    },
    onWork: (q) => signals.subscribe(workTopic(q.name)),
    onSettled: (jobId) => signals.subscribe(settledTopic(jobId)),
    async stop() {
      await signals.close();
      const s = starting;
      starting = undefined;
      if (!s) return;
      const b = await s.catch(() => undefined);
      await b?.stop({ graceful: false, close: true, timeout: 5000 });
    },
  };
}

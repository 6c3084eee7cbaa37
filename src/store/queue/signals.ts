/**
 * Wake-ups between processes through PostgreSQL LISTEN/NOTIFY: a send tells every worker waiting on that queue
 * at once, and a settled job tells the face waiting for its result, instead of each of them finding out at its
 * next poll. A notification is only a hint: every waiter still looks again after its own interval, so a lost
 * listen connection (or a job made ready by a retry or a timer, which nobody announces) costs latency, not work.
 */
import type { Client } from 'pg';
import type { Logger } from '../../core/logger.js';

/** The one channel; the payload names the topic (`work:<queue>` or `settled:<job id>`). */
export const SIGNAL_CHANNEL = 'loraloop_queue';

export const workTopic = (queue: string): string => `work:${queue}`;
export const settledTopic = (jobId: string): string => `settled:${jobId}`;

/** Interest in one topic. A notification that comes between two waits is kept for the next one. */
export interface Subscription {
  /** Resolves once this process listens (at once when the listen connection is down: the waits then time out). */
  readonly ready: Promise<void>;
  /** Resolves on the topic's next notification (or one kept since the last wait), after `ms`, or on abort. */
  next(ms: number, signal?: AbortSignal): Promise<void>;
  close(): void;
}

export interface QueueSignals {
  subscribe(topic: string): Subscription;
  close(): Promise<void>;
}

/** After a failed connect, wait this long before trying again (the waits poll meanwhile). */
const RECONNECT_MS = 5000;
/** The longest a subscriber waits for the listen connection before it goes on without it. */
const READY_MS = 5000;

export function createQueueSignals(url: string, logger: Pick<Logger, 'warn'>): QueueSignals {
  const subs = new Map<string, Set<{ fire: () => void }>>();
  let connecting: Promise<Client | undefined> | undefined;
  let failedAt = 0;
  let closed = false;

  const connect = (): Promise<Client | undefined> => {
    if (closed) return Promise.resolve(undefined);
    if (!connecting && Date.now() - failedAt < RECONNECT_MS) return Promise.resolve(undefined);
    connecting ??= (async () => {
      const pg = (await import('pg')).default;
      const c = new pg.Client({ connectionString: url, application_name: 'loraloop-signals', keepAlive: true, connectionTimeoutMillis: READY_MS });
      c.on('notification', (m) => {
        for (const s of subs.get(m.payload ?? '') ?? []) s.fire();
      });
      let lost = false;
      const drop = (why: string) => {
        if (lost || closed) return;
        lost = true;
        logger.warn('lost the queue wake-up connection; waiting workers poll until it is back', { error: why });
        failedAt = Date.now();
        connecting = undefined;
        // Whatever was sent meanwhile may have been missed: wake everyone to look once.
        for (const set of subs.values()) for (const s of set) s.fire();
      };
      c.on('error', (e) => drop(e.message));
      c.on('end', () => drop('the server closed the connection'));
      await c.connect();
      await c.query(`LISTEN ${SIGNAL_CHANNEL}`);
      return c;
    })().catch((e: unknown) => {
      logger.warn('cannot listen for queue wake-ups; waiting workers poll', { error: e instanceof Error ? e.message : String(e) });
      failedAt = Date.now();
      connecting = undefined;
      return undefined;
    });
    return connecting;
  };

  return {
    subscribe(topic) {
      let kept = false;
      let wake: (() => void) | undefined;
      const entry = {
        fire: () => {
          if (wake) wake();
          else kept = true;
        },
      };
      (subs.get(topic) ?? subs.set(topic, new Set()).get(topic)!).add(entry);
      // Bounded: a database that does not answer must not hold up a caller that can poll instead.
      const ready = new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, READY_MS).unref();
        void connect().then(() => {
          clearTimeout(timer);
          resolve();
        });
      });
      return {
        ready,
        next(ms, signal) {
          void connect(); // reconnects after a drop, at most once per RECONNECT_MS
          if (kept || signal?.aborted) {
            kept = false;
            return Promise.resolve();
          }
          return new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              signal?.removeEventListener('abort', done);
              wake = undefined;
              resolve();
            };
            const timer = setTimeout(done, ms);
            signal?.addEventListener('abort', done, { once: true });
            wake = done;
          });
        },
        close() {
          wake?.();
          const set = subs.get(topic);
          set?.delete(entry);
          if (set?.size === 0) subs.delete(topic);
        },
      };
    },
    async close() {
      closed = true;
      for (const set of subs.values()) for (const s of set) s.fire();
      subs.clear();
      const c = await connecting?.catch(() => undefined);
      connecting = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}

import type { Repos } from '../index.js';
import type { Subscription } from './signals.js';

/**
 * A queue's settings. Each module that puts work on the queue declares its queues next to the code that runs
 * them; the queue is created in the database the first time it is used.
 */
export interface QueueSpec {
  /** Letters, digits, `-`, `_` and `.`: pg-boss's rule for queue names. */
  name: string;
  /** Attempts after the first before the job counts as failed (a dead worker's attempt counts too). */
  retryLimit: number;
  /** Seconds before a failed attempt is retried (default 0: at once). */
  retryDelaySeconds?: number;
  /**
   * A worker that holds a job touches it this often (halved); one that stops touching it (killed, frozen,
   * cut off) loses it after this many seconds and the job is run again elsewhere. pg-boss's minimum is 10.
   */
  heartbeatSeconds: number;
  /** The longest one attempt may run, alive or not. */
  expireInSeconds: number;
}

/** One attempt of a job, as a worker holds it. */
export interface QueueJob<T> {
  id: string;
  queue: QueueSpec;
  data: T;
  /** 0 on the first attempt, +1 each time the job is claimed again. */
  retryCount: number;
}

export interface SendOptions {
  /**
   * Idempotency key: a second send with the same key (while the first job is kept, 7 days after it ends) is
   * dropped and returns null, so a retried enqueue never doubles work.
   */
  key?: string;
  /** Run no sooner than this many seconds from now. */
  startAfterSeconds?: number;
}

/**
 * The durable job queue shared by every process on the cluster's database (pg-boss on PostgreSQL). Workers
 * pull with `fetch`, keep what they hold alive with `hold`, and settle with `complete` or `fail`.
 */
export interface JobQueue {
  send<T extends object>(queue: QueueSpec, data: T, options?: SendOptions): Promise<string | null>;
  /**
   * Send many in one statement; each keyed (see SendOptions.key). A key whose job failed for good (every
   * attempt's worker died) gets one more attempt, so resuming work revives what was lost. Returns how many
   * were new.
   */
  sendMany<T extends object>(queue: QueueSpec, items: Array<{ data: T; key: string }>): Promise<number>;
  /** Up to `count` jobs that are ready, now held by this process. */
  fetch<T extends object>(queue: QueueSpec, count?: number): Promise<Array<QueueJob<T>>>;
  /** Keep `job` alive while it runs (heartbeats); call the returned function when it ends. */
  hold(job: QueueJob<unknown>): () => void;
  /**
   * Settle the attempt as done. With `tx` (a store transaction) the completion commits or rolls back with
   * the result's writes. False when this attempt no longer holds the job (it lapsed and was given to
   * another worker): the caller's transaction must then roll back, so a result is recorded once.
   */
  complete(job: QueueJob<unknown>, output?: object, tx?: Repos): Promise<boolean>;
  /** Settle the attempt as failed: the job is retried until its queue's retryLimit, then left failed. */
  fail(job: QueueJob<unknown>, error: string): Promise<void>;
  /** Where the job sent with `key` stands, or null when there is none (never sent, or long deleted). */
  stateOf(queue: QueueSpec, key: string): Promise<'waiting' | 'active' | 'completed' | 'failed' | 'cancelled' | null>;
  /** Jobs waiting to run (not yet claimed, or waiting for a retry). */
  waiting(queue: QueueSpec): Promise<number>;
  /** Send `data` to `queue` on this cron (in `timezone`, default UTC), once per cluster however many processes call it. */
  schedule(queue: QueueSpec, cron: string, data?: object, timezone?: string): Promise<void>;
  unschedule(queue: QueueSpec): Promise<void>;
  /**
   * Wake-ups when any process sends work to `queue` (or a failed attempt goes back to it). A hint only: a
   * consumer still looks again after its own interval, since retries after a dead worker are not announced.
   */
  onWork(queue: QueueSpec): Subscription;
  /** Wake-ups when the job `jobId` (what `send` returned) is settled, completed or failed, by any process. */
  onSettled(jobId: string): Subscription;
  stop(): Promise<void>;
}

/** A slot of a shared resource (one concurrent prompt of one GPU server), held by one process at a time. */
export interface SlotLocks {
  /** True when this process now holds `key` (or already did). Never waits. */
  tryAcquire(key: string): Promise<boolean>;
  release(key: string): Promise<void>;
  /** Whether the lock connection still stands; when it dropped, every slot was lost with it. */
  readonly healthy: boolean;
  close(): Promise<void>;
}

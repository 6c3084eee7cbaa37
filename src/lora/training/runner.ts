/**
 * The training job runner: claims unfinished training jobs with the jobs-table lease and follows each one
 * with its backend driver until it ends. A job outlives the process that started it: when a process dies,
 * its leases lapse and the next runner (MCP server, daemon, or a `lora_status` call) claims the job and
 * follows it from its record, which never submits it again (the drivers guarantee one remote training
 * per job).
 *
 * Started by long-lived faces; `lora_train` only queues jobs and nudges a runner that is already running.
 *
 * With the cluster's job queue (LORALOOP_QUEUE=pg-boss) the scan claims nothing: it makes sure every unfinished
 * job has its queue job (queue.ts), and `loraloop worker` loops follow them through `followJob`, under the same
 * lease. So one process never has two followers of a job, and faces never follow trainings themselves.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { LoraloopError, isLoraloopError } from '../../core/errors.js';
import { defaultSleep } from '../../core/retry.js';
import { kohyaTrainer } from '../backends/kohya.js';
import { replicateTrainer } from '../backends/replicate-trainer.js';
import type { FollowContext, ResolvedRunnerOptions, TrainingDeps, TrainingDriver, TrainingRunnerOptions } from './driver.js';
import { getTrainingJob, isTerminalTraining, listTrainingJobs, type TrainingJob } from './job.js';
import { failTraining } from './outcome.js';
import type { TrainingBackendName } from './params.js';
import { sendTrainings } from './queue.js';
import { missingBackendConfig } from './submit.js';

export type { TrainingDeps, TrainingRunnerOptions } from './driver.js';

/** The drivers by backend name. */
export const TRAINING_DRIVERS: Record<TrainingBackendName, TrainingDriver> = {
  replicate: replicateTrainer,
  kohya: kohyaTrainer,
};

/** A per-process follower of training jobs. */
export interface TrainingRunner {
  /** This process's lease owner id. */
  readonly ownerId: string;
  /** True between start() and stop(). */
  readonly running: boolean;
  /** Begin following: scan now and then every scanIntervalMs. Idempotent. */
  start(): void;
  /**
   * Claim and follow every unfinished job nobody else follows (resolves once claims are made); with a job
   * queue, queue every unfinished job instead (sent once each; a worker follows it).
   */
  scan(): Promise<void>;
  /**
   * Follow one job here until it ends, under its lease (a worker's queue loop). Waits on this process's
   * follower when there is one instead of starting a second. 'held': another process holds a live lease;
   * 'stopped': following stopped before the job ended (`signal`, the runner stopped, the lease was lost).
   */
  followJob(jobId: string, signal: AbortSignal): Promise<FollowOutcome>;
  /** Abort following a job in this process (kills a local kohya child). False when not followed here. */
  cancelLocal(jobId: string): boolean;
  isFollowing(jobId: string): boolean;
  /** Wake a job's follower from its poll sleep (a webhook brought news). */
  nudge(jobId: string): void;
  /** Stop scanning and stop following (leases are released; kohya children are stopped). */
  stop(): Promise<void>;
  /** Resolves when this process follows no job (tests, graceful shutdown). */
  whenIdle(): Promise<void>;
}

export type FollowOutcome = 'ended' | 'held' | 'stopped';

export function resolveRunnerOptions(o: TrainingRunnerOptions = {}): ResolvedRunnerOptions {
  return {
    pollIntervalMs: o.pollIntervalMs ?? 10_000,
    leaseTtlMs: o.leaseTtlMs ?? 60_000,
    scanIntervalMs: o.scanIntervalMs ?? 30_000,
    webhookUrl: o.webhookUrl,
    ownerId: o.ownerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`,
  };
}

/** Is this job waiting for a follower: unfinished and not held by a live lease? */
export function isUnowned(job: TrainingJob, nowMs: number): boolean {
  if (isTerminalTraining(job.status)) return false;
  return job.owner === null || job.owner_until === null || Date.parse(job.owner_until) < nowMs;
}

export function createTrainingRunner(services: TrainingDeps & { trainingOptions: TrainingRunnerOptions }, options: TrainingRunnerOptions = services.trainingOptions): TrainingRunner {
  const opts = resolveRunnerOptions(options);
  const logger = services.logger.child({ component: 'training-runner', owner: opts.ownerId });
  const active = new Map<string, { ac: AbortController; done: Promise<void>; wake: () => void }>();
  let running = false;
  let scanTimer: NodeJS.Timeout | undefined;
  let scanning: Promise<void> | undefined;

  const follow = (job: TrainingJob): void => {
    const driver = TRAINING_DRIVERS[job.state.backend];
    const ac = new AbortController();
    const renewOnce = async (): Promise<void> => {
      try {
        const cur = await getTrainingJob(services, job.id);
        if (!cur || isTerminalTraining(cur.status)) {
          ac.abort(new Error('job ended elsewhere'));
          return;
        }
        if (!(await services.store.jobs.claim(job.id, opts.ownerId, opts.leaseTtlMs))) {
          logger.warn('lost the lease on a training job; another process follows it now', { job_id: job.id });
          ac.abort(new Error('lease lost'));
        }
      } catch (e) {
        logger.warn('lease renewal failed', { job_id: job.id, error: e instanceof Error ? e.message : String(e) });
      }
    };
    const renew = setInterval(() => void renewOnce(), Math.max(50, Math.floor(opts.leaseTtlMs / 3)));
    renew.unref();
    // A nudge ends the current sleep early; a real abort still rejects it. A nudge that comes while the
    // follower is not asleep (mid-poll) is kept for its next sleep, or the news would wait a whole poll interval.
    let wakeSleep: AbortController | undefined;
    let nudged = false;
    const sleep = async (ms: number): Promise<void> => {
      if (nudged) {
        nudged = false;
        return;
      }
      wakeSleep = new AbortController();
      try {
        await defaultSleep(ms, AbortSignal.any([ac.signal, wakeSleep.signal]));
      } catch (e) {
        if (ac.signal.aborted) throw e;
      } finally {
        wakeSleep = undefined;
      }
    };
    const ctx: FollowContext = {
      services,
      logger: logger.child({ job_id: job.id, backend: job.state.backend }),
      signal: ac.signal,
      options: opts,
      sleep,
    };
    const done = (async () => {
      try {
        await driver.follow(job, ctx);
      } catch (e) {
        if (ac.signal.aborted) return;
        const cur = await getTrainingJob(services, job.id);
        if (!cur || isTerminalTraining(cur.status)) return; // canceled or finished elsewhere: nothing to record
        const message = isLoraloopError(e) ? e.message : e instanceof Error ? e.message : String(e);
        logger.error('training job failed', { job_id: job.id, error: message });
        await failTraining(services, job.id, message);
      } finally {
        clearInterval(renew);
        active.delete(job.id);
        try {
          await services.store.jobs.release(job.id, opts.ownerId);
        } catch {
          // the store may already be closed at shutdown; the lease then simply lapses
        }
      }
    })();
    const wake = (): void => {
      if (wakeSleep) wakeSleep.abort();
      else nudged = true;
    };
    active.set(job.id, { ac, done, wake });
  };

  /** Claim the lease and start following; 'following' also when this process already follows the job. */
  const claimAndFollow = async (jobId: string): Promise<'following' | 'ended' | 'held'> => {
    if (active.has(jobId)) return 'following';
    if (!(await services.store.jobs.claim(jobId, opts.ownerId, opts.leaseTtlMs))) return 'held';
    // Re-read after claiming: the record may have moved on while we looked.
    const fresh = await getTrainingJob(services, jobId);
    if (!fresh || isTerminalTraining(fresh.status)) {
      await services.store.jobs.release(jobId, opts.ownerId);
      return 'ended';
    }
    // The claim accepts our own lease, so a second caller here (the scan and a queue loop) would pass it too:
    // only the first to get here follows. Nothing awaits between this check and follow() registering the job.
    if (active.has(jobId)) return 'following';
    logger.info('following training job', { job_id: jobId, backend: fresh.state.backend, status: fresh.status });
    follow(fresh);
    return 'following';
  };

  const scanOnce = async (): Promise<void> => {
    const unfinished = await listTrainingJobs(services, { status: ['queued', 'training'] });
    if (services.queue) {
      await sendTrainings(services.queue, unfinished);
      return;
    }
    const now = services.now().getTime();
    for (const job of unfinished) {
      if (active.has(job.id)) continue;
      const driver = TRAINING_DRIVERS[job.state.backend];
      if (!driver?.configured(services)) continue;
      if (job.owner !== opts.ownerId && !isUnowned(job, now)) continue;
      await claimAndFollow(job.id);
    }
  };

  const runner: TrainingRunner = {
    ownerId: opts.ownerId,
    get running() {
      return running;
    },
    start() {
      if (running) return;
      running = true;
      void runner.scan();
      scanTimer = setInterval(() => void runner.scan(), opts.scanIntervalMs);
      scanTimer.unref();
    },
    scan() {
      // One scan at a time: two overlapping scans would race for the same claims.
      scanning ??= scanOnce()
        .catch((e) => logger.error('training scan failed', { error: e instanceof Error ? e.message : String(e) }))
        .finally(() => {
          scanning = undefined;
        });
      return scanning;
    },
    async followJob(jobId, signal) {
      const job = await getTrainingJob(services, jobId);
      if (!job || isTerminalTraining(job.status)) return 'ended';
      if (!TRAINING_DRIVERS[job.state.backend].configured(services)) {
        throw new LoraloopError('NOT_CONFIGURED', `This process cannot follow ${job.state.backend} trainings: ${missingBackendConfig(services, job.state.backend).join(' and ')} not set.`);
      }
      if (signal.aborted) return 'stopped';
      const claimed = await claimAndFollow(jobId);
      if (claimed !== 'following') return claimed;
      const a = active.get(jobId);
      if (a) {
        const stop = () => a.ac.abort(new Error('stopped by its caller'));
        if (signal.aborted) stop();
        else signal.addEventListener('abort', stop, { once: true });
        try {
          await a.done.catch(() => undefined);
        } finally {
          signal.removeEventListener('abort', stop);
        }
      }
      const cur = await getTrainingJob(services, jobId);
      return !cur || isTerminalTraining(cur.status) ? 'ended' : 'stopped';
    },
    cancelLocal(jobId) {
      const a = active.get(jobId);
      if (!a) return false;
      a.ac.abort(new Error('canceled'));
      return true;
    },
    isFollowing: (jobId) => active.has(jobId),
    nudge(jobId) {
      active.get(jobId)?.wake();
    },
    async stop() {
      running = false;
      if (scanTimer) clearInterval(scanTimer);
      scanTimer = undefined;
      await scanning;
      const all = [...active.values()];
      for (const a of all) a.ac.abort(new Error('runner stopped'));
      await Promise.allSettled(all.map((a) => a.done));
    },
    async whenIdle() {
      while (active.size > 0 || scanning) {
        await Promise.allSettled([...active.values()].map((a) => a.done));
        await scanning;
      }
    },
  };
  return runner;
}

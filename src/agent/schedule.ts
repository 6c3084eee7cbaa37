/**
 * The nightly schedule of `loraloop daemon`: a croner job that runs a task on a cron pattern
 * (LORALOOP_IMPROVE_CRON, default "0 3 * * *": 3 am local time). A run still going when the next one is
 * due is not started twice (croner's `protect`); the store lease guards against other processes too. A task
 * that throws is logged and the schedule goes on.
 */
import { Cron } from 'croner';
import { LoraloopError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export interface Schedule {
  /** When the task runs next (null when the pattern never fires again). */
  next(): Date | null;
  /** True while the task is running. */
  busy(): boolean;
  /** Stop firing; a task already running is not interrupted (abort it through its own signal). */
  stop(): void;
}

export interface ScheduleOptions {
  cron: string;
  task: () => Promise<void>;
  logger: Logger;
  /** IANA time zone (default: the host's; LORALOOP_IMPROVE_TZ). */
  timezone?: string | undefined;
}

export function startSchedule(opts: ScheduleOptions): Schedule {
  const job = cronOf(opts.cron, () =>
    new Cron(
      opts.cron,
      {
        protect: (j) => opts.logger.warn('nightly run still going; skipping this tick', { next: j.nextRun()?.toISOString() ?? null }),
        catch: (e) => opts.logger.error('scheduled task failed', { error: e instanceof Error ? e.message : String(e) }),
        ...(opts.timezone ? { timezone: opts.timezone } : {}),
      },
      async () => {
        await opts.task();
      },
    ),
  );
  return {
    next: () => job.nextRun(),
    busy: () => job.isBusy(),
    stop: () => job.stop(),
  };
}

/**
 * When the nightly run would next start, or CONFIG_INVALID naming LORALOOP_IMPROVE_CRON: a worker checks the
 * pattern before it registers the cluster's schedule, with the same words as the daemon.
 */
export function nextNightly(cron: string, timezone?: string): Date | null {
  const c = cronOf(cron, () => new Cron(cron, { paused: true, ...(timezone ? { timezone } : {}) }));
  try {
    return c.nextRun();
  } finally {
    c.stop();
  }
}

function cronOf(pattern: string, make: () => Cron): Cron {
  try {
    return make();
  } catch (e) {
    throw new LoraloopError('CONFIG_INVALID', `LORALOOP_IMPROVE_CRON "${pattern}" is not a cron pattern: ${(e as Error).message}.`, {
      hint: 'Use five fields (minute hour day month weekday), e.g. "0 3 * * *" for 3 am every day.',
      cause: e,
    });
  }
}

/**
 * A worker's side of a training's queue job (queue.ts): follow the training here until it ends, then settle
 * the queue job. The caller holds the queue job (heartbeats) meanwhile, so while this worker lives no other
 * worker is given it; when it dies, the heartbeat lapses and the next worker to take the job follows the
 * training from its record (the drivers never start a second remote training for one job).
 */
import type { Logger } from '../../core/logger.js';
import { defaultSleep } from '../../core/retry.js';
import type { JobQueue, QueueJob } from '../../store/queue/index.js';
import type { TrainingRunnerOptions } from './driver.js';
import type { QueuedTraining } from './queue.js';
import { resolveRunnerOptions, type TrainingRunner } from './runner.js';

export interface QueuedFollowDeps {
  queue: JobQueue;
  logger: Logger;
  trainingOptions: TrainingRunnerOptions;
  trainingRunner: () => TrainingRunner;
}

/** Follow the training of `job` to its end (or until `signal`), and settle the queue job accordingly. */
export async function followQueuedTraining(s: QueuedFollowDeps, job: QueueJob<QueuedTraining>, signal: AbortSignal): Promise<void> {
  const jobId = job.data.job_id;
  const log = s.logger.child({ component: 'training-queue', job_id: jobId });
  const runner = s.trainingRunner();
  // The lease of a process that died lapses within leaseTtlMs; looking a few times per lease catches it soon.
  const recheckMs = Math.max(250, Math.min(5000, Math.floor(resolveRunnerOptions(s.trainingOptions).leaseTtlMs / 3)));
  if (job.retryCount > 0) log.info('following a training again: the worker that had it stopped', { attempt: job.retryCount + 1 });
  let waiting = false;
  while (!signal.aborted) {
    const outcome = await runner.followJob(jobId, signal);
    if (outcome === 'ended') {
      // False when this attempt lapsed meanwhile: the worker holding the job now sees it ended and settles it.
      if (!(await s.queue.complete(job))) log.warn('the training ended, and its queue job had been given to another worker meanwhile');
      return;
    }
    if (signal.aborted) break;
    // 'held': a live lease elsewhere (the process before us, until its lease lapses; or one without the queue).
    // 'stopped': our lease was taken. Either way the training is not ours yet: keep the queue job and look again.
    if (!waiting) log.info('the training is held by another process; waiting for its lease', { outcome });
    waiting = true;
    await defaultSleep(recheckMs, signal).catch(() => undefined);
  }
  // Stopping: hand the training back at once rather than after the heartbeat lapses. The lease went with the
  // follower, so the next worker claims it straight away and follows it from its record.
  await s.queue.fail(job, 'the worker stopped; another worker follows the training').catch((e: unknown) => log.warn('could not hand the training back; it returns when its heartbeat lapses', { error: String(e) }));
}

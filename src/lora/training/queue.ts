/**
 * Training jobs on the cluster's queue (LORALOOP_QUEUE=pg-boss): each unfinished training is followed through
 * one queue job, keyed by the training job's id, so however often it is sent (by lora_train, by every process's
 * runner scan) the cluster holds one. A `loraloop worker` takes it and follows the training to its end while
 * heartbeating (follow-queued.ts); when that worker dies, the queue gives the job to another worker.
 */
import type { Logger } from '../../core/logger.js';
import type { JobQueue, QueueSpec } from '../../store/queue/index.js';
import type { TrainingJob } from './job.js';
import type { TrainingBackendName } from './params.js';

/** One queue per backend, so a worker only takes trainings it has the configuration (and GPUs) to follow. */
export function trainingQueue(backend: TrainingBackendName): QueueSpec {
  return {
    name: `loraloop.trainings.${backend}`,
    // Every attempt a dead or stopped worker leaves counts; a training outlives many worker restarts.
    retryLimit: 100,
    heartbeatSeconds: 10,
    // pg-boss's ceiling. A follower still at it after a day keeps its lease, so the next attempt waits on it.
    expireInSeconds: 24 * 3600,
  };
}

/** What a training's queue job carries: the training job to follow. */
export interface QueuedTraining {
  job_id: string;
}

/** Put these trainings on the queue (once each, whatever was sent before). Returns how many were new. */
export async function sendTrainings(queue: JobQueue, jobs: ReadonlyArray<Pick<TrainingJob, 'id' | 'state'>>): Promise<number> {
  let sent = 0;
  for (const j of jobs) {
    if (await queue.send<QueuedTraining>(trainingQueue(j.state.backend), { job_id: j.id }, { key: j.id })) sent++;
  }
  return sent;
}

/**
 * lora_train's hand-off: queue the new jobs now. A failure here loses nothing (the jobs are recorded, and the
 * next runner scan of any process sends them), so it is logged, not thrown. True when they are on the queue.
 */
export async function offerTrainings(queue: JobQueue, jobs: ReadonlyArray<Pick<TrainingJob, 'id' | 'state'>>, logger: Pick<Logger, 'warn'>): Promise<boolean> {
  try {
    await sendTrainings(queue, jobs);
    return true;
  } catch (e) {
    logger.warn('could not queue the training now; the next runner scan queues it', { error: e instanceof Error ? e.message : String(e) });
    return false;
  }
}

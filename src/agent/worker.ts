/**
 * `loraloop worker`: a process that runs the cluster's work from the queue (LORALOOP_QUEUE=pg-boss). Any number
 * of workers on any number of hosts share one database, one blob store and one pool of GPU servers:
 *
 * - queued tool calls (covers, batches' planning, analyses, training submissions, backends_status), a few at once;
 * - the drafts of every batch, one loop per GPU server slot, each slot held cluster-wide (src/cover/queue/slots.ts);
 * - trainings, each followed to its end through its queue job (a dead worker's come back to another one), and
 *   the training runner's scan, which queues every unfinished training once;
 * - the nightly improvement run, on a schedule registered once per cluster (pg-boss cron), run by one worker.
 */
import { LoraloopError } from '../core/errors.js';
import { defaultSleep } from '../core/retry.js';
import { runDraftSlots } from '../cover/queue/slots.js';
import type { BackendName } from '../cover/backends/registry.js';
import { followQueuedTraining } from '../lora/training/follow-queued.js';
import { TRAINING_BACKENDS } from '../lora/training/params.js';
import { trainingQueue, type QueuedTraining } from '../lora/training/queue.js';
import { TRAINING_DRIVERS } from '../lora/training/runner.js';
import { createSlotLocks, type QueueJob, type QueueSpec } from '../store/queue/index.js';
import { CALL_QUEUE, runQueuedCall, type QueuedCall } from '../tools/queued.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { Services } from '../tools/services.js';
import { createToolContext } from '../tools/context.js';
import { nextNightly } from './schedule.js';

/** The nightly run's queue: one run at a time is enough, and a dead worker's run is continued by the next. */
export const NIGHTLY_QUEUE: QueueSpec = { name: 'loraloop.nightly', retryLimit: 1, heartbeatSeconds: 30, expireInSeconds: 12 * 3600 };

export interface WorkerOptions {
  signal: AbortSignal;
  /** Queued tool calls run at once (default 4; 0: none, as `loraloop daemon` in a cluster). */
  calls?: number;
  /** Run drafts (default true). */
  drafts?: boolean;
  /** Backends whose drafts this worker runs (default: those configured here). */
  backends?: BackendName[];
  /** Trainings followed at once, per configured training backend (default 8; 0: none). */
  trainings?: number;
  /** Register and run the nightly schedule (default true). */
  nightly?: boolean;
  /**
   * Longest idle pause before an empty queue is looked at again (ms, default 1000). Sends wake the loops at once
   * (LISTEN/NOTIFY); the look catches what nobody announces, such as a dead worker's job given back.
   */
  pollMs?: number;
}

export interface WorkerApp {
  services: Services;
  tools: ToolRegistry;
}

/** Run until `signal` aborts; then stop taking work, finish what is in hand, and let every slot go. */
export async function runWorker(app: WorkerApp, o: WorkerOptions): Promise<void> {
  const s = app.services;
  const queue = s.queue;
  if (!queue || !s.config.databaseUrl) {
    throw new LoraloopError('NOT_CONFIGURED', 'loraloop worker runs the jobs of the cluster queue, and none is configured.', {
      hint: 'Set LORALOOP_DATABASE_URL=postgres://… and LORALOOP_QUEUE=pg-boss on every host (faces and workers).',
    });
  }
  const log = s.logger.child({ face: 'worker' });
  const slots = createSlotLocks(s.config.databaseUrl, log);
  const pollMs = o.pollMs ?? 1000;
  const idle = (ms: number) => defaultSleep(ms * (0.75 + Math.random() * 0.5), o.signal).catch(() => undefined);

  /** Fetch-run loop of one queue: take a job, keep it alive while it runs, then look again (every `idleMs` when empty). */
  const consume = async <T extends object>(spec: QueueSpec, run: (job: QueueJob<T>) => Promise<void>, idleMs = pollMs): Promise<void> => {
    // A send anywhere in the cluster wakes the loop at once; the idle look is for what nobody announces.
    const sent = queue.onWork(spec);
    try {
      while (!o.signal.aborted) {
        try {
          const [job] = await queue.fetch<T>(spec);
          if (!job) {
            await sent.next(idleMs * (0.75 + Math.random() * 0.5), o.signal);
            continue;
          }
          const letGo = queue.hold(job as QueueJob<unknown>);
          try {
            await run(job);
          } finally {
            letGo();
          }
        } catch (e) {
          if (o.signal.aborted) break;
          log.warn('queue loop error; it goes on', { queue: spec.name, error: e instanceof Error ? e.message : String(e) });
          await idle(1000);
        }
      }
    } finally {
      sent.close();
    }
  };

  // The queue is up (pg-boss started, its schema migrated, the calls queue made) before any loop runs: a
  // database that cannot be reached stops the worker here with that error, not in every loop.
  await queue.waiting(CALL_QUEUE);
  // One schedule for the cluster, re-registered by every worker: with LORALOOP_IMPROVE_TZ unset, hosts in other
  // time zones would each move it to their own, so the zone is logged with it.
  const nightlyTz = s.config.improveTimezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (o.nightly !== false) {
    nextNightly(s.config.improveCron, nightlyTz);
    await queue.schedule(NIGHTLY_QUEUE, s.config.improveCron, {}, nightlyTz);
  }
  const loops: Array<Promise<void>> = [];
  for (let i = 0; i < Math.max(0, o.calls ?? 4); i++) loops.push(consume<QueuedCall>(CALL_QUEUE, (job) => runQueuedCall(app, job, o.signal)));
  if (o.drafts !== false) loops.push(runDraftSlots({ ...s, queue, store: s.store }, { slots, signal: o.signal, pollMs, ...(o.backends ? { backends: o.backends } : {}) }));
  // A training runs for minutes to hours: a few seconds before a given-back one is picked up cost nothing, and
  // keep the idle loops' queries few (new ones are announced). Only backends configured here: another worker
  // takes the others.
  const trainingIdleMs = Math.max(pollMs, 5000);
  const trainingBackends = TRAINING_BACKENDS.filter((b) => TRAINING_DRIVERS[b].configured(s));
  for (const backend of trainingBackends) {
    for (let i = 0; i < (o.trainings ?? 8); i++) loops.push(consume<QueuedTraining>(trainingQueue(backend), (job) => followQueuedTraining({ ...s, queue }, job, o.signal), trainingIdleMs));
  }
  // With the queue, the runner's scan claims nothing: it queues every unfinished training (once each), such as
  // one whose lora_train call died before queueing it. Following is the loops' work above.
  s.trainingRunner().start();
  if (o.nightly !== false) {
    loops.push(
      consume(NIGHTLY_QUEUE, async (job) => {
        log.info('nightly run starting');
        const ctx = createToolContext(s, app.tools, { face: 'nightly', runHere: true, signal: o.signal, logger: log.child({ tool: 'improve_run' }) });
        const r = await app.tools.execute('improve_run', {}, ctx);
        log.info(r.success ? 'nightly run finished' : 'nightly run did not complete', { reasoning: r.reasoning });
        // A run that stopped part-way keeps its steps; the next one continues it. Either way this tick is done.
        await queue.complete(job, { success: r.success });
      }),
    );
  }
  log.info('worker started', { calls: o.calls ?? 4, drafts: o.drafts !== false, trainings: o.trainings === 0 ? [] : trainingBackends, nightly: o.nightly !== false ? `${s.config.improveCron} (${nightlyTz})` : false });
  try {
    await Promise.all(loops);
  } finally {
    await slots.close();
  }
}

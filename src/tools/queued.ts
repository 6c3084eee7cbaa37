/**
 * Tool calls on the cluster's job queue (LORALOOP_QUEUE=pg-boss). A face (MCP, Slack, CLI) records the call as
 * a `call` job, puts it on the queue and waits for its result until its deadline, then answers with the job
 * to follow (job_status), as a hand-over does. A `loraloop worker` takes the call, runs the tool, and writes
 * the result and settles the queue job in one transaction, so a call whose worker died is run again by
 * another worker and its result is recorded once.
 */
import { failure, ok, wireData, type CommandResult, type ResultError } from '../core/result.js';
import { defaultSleep } from '../core/retry.js';
import type { JobQueue, QueueJob, QueueSpec, Subscription } from '../store/queue/index.js';
import { createToolContext } from './context.js';
import { CALL_JOB_KIND, handoverResult, type CallJob, type CallJobState } from './handover.js';
import type { ToolRegistry } from './registry.js';
import type { Services } from './services.js';
import { DEADLINE_MARGIN_MS, type ProgressUpdate, type ToolContext, type ToolDefinition } from './types.js';

export const CALL_QUEUE: QueueSpec = { name: 'loraloop.calls', retryLimit: 2, heartbeatSeconds: 10, expireInSeconds: 6 * 3600 };

/** What a queued call carries: the call job to report in, and the call itself. */
export interface QueuedCall {
  call_id: string;
  tool: string;
  input: unknown;
}

/** Whether this call goes on the queue rather than running in this process. */
export function goesOnQueue(tool: ToolDefinition, input: unknown, ctx: ToolContext): boolean {
  if (!ctx.services.queue || ctx.runHere || !tool.worker) return false;
  return typeof tool.worker === 'function' ? tool.worker(input as never) : true;
}

/** The stored result of a finished call, as the CommandResult the tool returned. */
function resultOf(job: CallJob): CommandResult | undefined {
  const r = job.state.result;
  if (!r) return undefined;
  if (r.success) return ok(r.data, r.reasoning, r.artifacts, r.next);
  // A failure travels as `data.error` (wireData): the same error the tool returned.
  const err = (r.data as { error?: ResultError }).error;
  return err ? { success: false, error: err, reasoning: r.reasoning } : failure('JOB_FAILED', r.reasoning, { category: 'system' });
}

/**
 * A queued call whose queue job failed for good: every worker that took it stopped before finishing (the
 * queue's retries are spent), so nobody will write its result.
 */
export async function queuedCallLost(s: Pick<Services, 'queue'>, job: CallJob): Promise<boolean> {
  if (!s.queue || job.state.queued !== true || job.status !== 'running') return false;
  return (await s.queue.stateOf(CALL_QUEUE, job.id).catch(() => null)) === 'failed';
}

/** What a caller is told about a call whose workers all stopped. */
export function lostCall(tool: string): CommandResult {
  return failure('JOB_FAILED', `Every worker that took this ${tool} call stopped before it finished (${CALL_QUEUE.retryLimit + 1} attempts).`, {
    category: 'system',
    hint: `Check the workers' logs (loraloop worker), then call ${tool} again.`,
  });
}

/** Face side: queue the call, then wait for its result until the caller's deadline (or for good, without one). */
export async function enqueueCall(queue: JobQueue, ctx: ToolContext, tool: string, input: unknown): Promise<CommandResult> {
  const jobs = ctx.services.store.jobs;
  const created = await jobs.create<CallJobState>({ kind: CALL_JOB_KIND, status: 'running', subject_id: null, backend: null, state: { tool, queued: true, message: 'waiting for a worker' } });
  const queueJobId = await queue.send<QueuedCall>(CALL_QUEUE, { call_id: created.id, tool, input }, { key: created.id });
  // The worker's commit wakes this wait at once; between wake-ups the row is read for progress.
  const settled = queueJobId ? queue.onSettled(queueJobId) : undefined;
  try {
    await settled?.ready;
    return await waitForCall(ctx, tool, created as CallJob, settled);
  } finally {
    settled?.close();
  }
}

/** How often a waiting face reads its call's row for progress (the result itself wakes it at once). */
const CALL_PROGRESS_MS = 500;

async function waitForCall(ctx: ToolContext, tool: string, created: CallJob, settled: Subscription | undefined): Promise<CommandResult> {
  const jobs = ctx.services.store.jobs;
  const until = (ctx.deadline ?? Infinity) - DEADLINE_MARGIN_MS;
  let job = ((await jobs.get<CallJobState>(created.id)) as CallJob | undefined) ?? created;
  let last: ProgressUpdate | undefined;
  let lastMessage: string | undefined;
  let lostCheckedAt = Date.now();
  while (Date.now() < until && !ctx.signal.aborted) {
    const done = resultOf(job);
    if (done && job.status !== 'running') return done;
    const message = job.state.message;
    if (message !== lastMessage || (last && last.progress !== job.progress)) {
      lastMessage = message;
      last = { progress: job.progress, total: 1, ...(message ? { message } : {}) };
      ctx.progress(last);
    }
    const ms = Math.min(CALL_PROGRESS_MS, Math.max(0, until - Date.now()));
    if (settled) await settled.next(ms, ctx.signal);
    else await defaultSleep(ms, ctx.signal).catch(() => undefined);
    if (ctx.signal.aborted) break;
    job = ((await jobs.get<CallJobState>(created.id)) as CallJob | undefined) ?? job;
    // Rarely needed (every worker that took it died), so asked of the queue every 2 s only.
    if (Date.now() - lostCheckedAt > 2000) {
      lostCheckedAt = Date.now();
      if (await queuedCallLost(ctx.services, job)) return lostCall(tool);
    }
  }
  const done = resultOf(job);
  if (done && job.status !== 'running') return done;
  return handoverResult(job, tool, last);
}

/** What a worker needs to run queued calls. */
export interface CallWorkerDeps {
  services: Services;
  tools: ToolRegistry;
}

/** Worker side: run one queued call and record its result with the queue job's completion. */
export async function runQueuedCall(deps: CallWorkerDeps, job: QueueJob<QueuedCall>, signal: AbortSignal): Promise<void> {
  const s = deps.services;
  const queue = s.queue;
  if (!queue) return;
  const { call_id: callId, tool, input } = job.data;
  const log = s.logger.child({ call: callId, tool });
  const row = (await s.store.jobs.get<CallJobState>(callId)) as CallJob | undefined;
  if (!row || row.status !== 'running') {
    // Recorded already (the worker before this one finished but died before settling) or removed.
    await queue.complete(job);
    return;
  }
  let saving = Promise.resolve();
  let lastSave = 0;
  const ctx = createToolContext(s, deps.tools, {
    face: 'worker',
    runHere: true,
    signal,
    logger: log,
    progress: (p) => {
      // Progress reaches the face through the call's row; a write per second at most.
      if (Date.now() - lastSave < 1000) return;
      lastSave = Date.now();
      const progress = p.total ? Math.min(1, p.progress / p.total) : 0;
      saving = saving
        .then(() => s.store.jobs.update(callId, { progress, state: { message: p.message ?? '' } }))
        .then(() => undefined, (e: unknown) => log.debug('call progress not saved', { error: String(e) }));
    },
  });
  if (job.retryCount > 0) log.info('running a call again: the worker that had it stopped', { attempt: job.retryCount + 1 });
  const t0 = Date.now();
  log.debug('queued call taken', { waited_ms: t0 - Date.parse(row.created_at) });
  const r = await deps.tools.execute(tool, input, ctx);
  log.debug('queued call ran', { ms: Date.now() - t0, success: r.success });
  await saving;
  const result: CallJobState['result'] = { success: r.success, data: wireData(r), reasoning: r.reasoning };
  if (r.success && r.next) result.next = r.next;
  if (r.success && r.artifacts) result.artifacts = r.artifacts;
  await s.store.transaction(async (tx) => {
    await tx.jobs.update(callId, { status: r.success ? 'succeeded' : 'failed', progress: 1, state: { result, message: r.success ? 'done' : 'failed' } });
    if (!(await queue.complete(job, undefined, tx))) throw new LapsedAttempt(callId);
  }).catch((e: unknown) => {
    if (e instanceof LapsedAttempt) log.warn('this call was given to another worker meanwhile; its result there counts');
    else throw e;
  });
}

/** Thrown inside a transaction to roll it back when the queue gave the job to another worker. */
export class LapsedAttempt extends Error {
  constructor(readonly jobId: string) {
    super(`job ${jobId}: this attempt lapsed`);
  }
}

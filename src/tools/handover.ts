import { hostname } from 'node:os';
import { z } from 'zod';
import { ok, wireData, type Artifact, type CommandResult } from '../core/result.js';
import type { Logger } from '../core/logger.js';
import type { JobRecord, JobsRepo } from '../store/repos/jobs.js';
import type { ProgressUpdate, ToolContext } from './types.js';

/** Job kind of a tool call that outlived its caller's budget. */
export const CALL_JOB_KIND = 'call';

/** What a handed-over call's job keeps: enough for job_status to answer from any process. */
export interface CallJobState extends Record<string, unknown> {
  tool: string;
  message?: string;
  /** Put on the cluster's job queue (LORALOOP_QUEUE): a worker runs it, and the queue reruns it if that worker dies. */
  queued?: boolean;
  /** The call's result as it travels (wireData): a failure's error is `data.error`. */
  result?: { success: boolean; data: unknown; reasoning: string; next?: string; artifacts?: Artifact[] };
}

export type CallJob = JobRecord<CallJobState>;

/** How long the process that runs a handed-over call holds its claim; renewed at a third of it. */
const CLAIM_TTL_MS = 30_000;
const OWNER = `${hostname()}:${process.pid}`;

export interface HandoverDeps {
  jobs: JobsRepo;
  logger: Logger;
}

/** The shape of a handed-over call's data: every tool that may run long also answers this (an anyOf in MCP). */
export const handoverOutputSchema = z.object({
  status: z.literal('running').describe('The work goes on after this call returned.'),
  job_id: z.string().describe('Pass it to job_status to get the result.'),
  tool: z.string().describe('The tool that is still running.'),
  progress: z.number().min(0).max(1).nullable().describe('How far it is, 0..1, when known.'),
  next: z.string().describe('What to call next.'),
});

/** The result a caller gets when the budget is spent: the job to follow and the one call that follows it. */
export function handoverResult(job: CallJob, tool: string, progress: ProgressUpdate | undefined): CommandResult {
  const pct = progress?.total ? Math.round((progress.progress / progress.total) * 100) : null;
  const next = `Call job_status {"job_id": "${job.id}", "wait_seconds": 30} to get the result; the work goes on meanwhile.`;
  const where = progress?.message ? ` (${pct !== null ? `${pct}%, ` : ''}${progress.message})` : pct !== null ? ` (${pct}%)` : '';
  return ok(
    { status: 'running' as const, job_id: job.id, tool, progress: pct !== null ? pct / 100 : null, next },
    `${tool} is still running${where}; it goes on as job ${job.id} so this call does not hold you past its time budget. ${next}`,
    undefined,
    next,
  );
}

/**
 * Run a tool call that may hold its caller at most `budgetMs`. When the budget is spent first, the call goes on
 * in this process as a `call` job (never restarted, so never doubled) and the caller gets the job id; its result
 * lands in the job for job_status. A client cancel before the hand-over still cancels the work; after it, the
 * caller's signal no longer reaches the work (the caller has gone, not cancelled).
 */
export async function runWithinBudget(
  deps: HandoverDeps,
  execute: (ctx: ToolContext) => Promise<CommandResult>,
  tool: string,
  ctx: ToolContext,
  budgetMs: number,
): Promise<CommandResult> {
  const work = new AbortController();
  // Set once the budget is spent; read by the callbacks above it.
  const handed: { job?: CallJob } = {};
  let last: ProgressUpdate | undefined;
  const forwardAbort = () => {
    if (!handed.job) work.abort(ctx.signal.reason);
  };
  if (ctx.signal.aborted) work.abort(ctx.signal.reason);
  ctx.signal.addEventListener('abort', forwardAbort, { once: true });
  const inner: ToolContext = {
    ...ctx,
    signal: work.signal,
    deadline: Math.min(ctx.deadline ?? Infinity, Date.now() + budgetMs),
    progress: (p) => {
      last = p;
      if (!handed.job) return ctx.progress(p);
      deps.jobs
        .update(handed.job.id, { progress: p.total ? Math.min(1, p.progress / p.total) : 0, state: { message: p.message ?? '' } })
        .catch((e: unknown) => deps.logger.debug('call job progress not saved', { error: (e as Error).message }));
    },
  };
  const running = execute(inner);
  let timer: NodeJS.Timeout | undefined;
  const spent = new Promise<'spent'>((resolve) => (timer = setTimeout(() => resolve('spent'), budgetMs)));
  const first = await Promise.race([running, spent]);
  clearTimeout(timer);
  if (first !== 'spent') {
    ctx.signal.removeEventListener('abort', forwardAbort);
    return first;
  }
  const job = (handed.job = (await deps.jobs.create<CallJobState>({ kind: CALL_JOB_KIND, status: 'running', subject_id: null, backend: null, state: { tool } })) as CallJob);
  const id = job.id;
  await deps.jobs.claim(id, OWNER, CLAIM_TTL_MS);
  const renew = (): void => {
    deps.jobs.claim(id, OWNER, CLAIM_TTL_MS).catch((e: unknown) => deps.logger.debug('call job claim not renewed', { error: (e as Error).message }));
  };
  const heartbeat = setInterval(renew, CLAIM_TTL_MS / 3);
  heartbeat.unref();
  void running
    .then(
      (r) => r,
      (e: unknown): CommandResult => ({ success: false, error: { code: 'INTERNAL', category: 'system', message: String(e) }, reasoning: `${tool} failed: ${String(e)}` }),
    )
    .then(async (r) => {
      clearInterval(heartbeat);
      const result: CallJobState['result'] = { success: r.success, data: wireData(r), reasoning: r.reasoning };
      if (r.success && r.next) result.next = r.next;
      if (r.success && r.artifacts) result.artifacts = r.artifacts;
      await deps.jobs.update(id, { status: r.success ? 'succeeded' : 'failed', progress: 1, state: { result } });
      await deps.jobs.release(id, OWNER);
    })
    .catch((e: unknown) => deps.logger.error('handed-over call result not saved', { job_id: id, error: (e as Error).message }));
  return handoverResult(job, tool, last);
}

/** True when a running call job's process has stopped renewing its claim (it died): its work is lost. */
export function isAbandoned(job: CallJob, nowMs: number): boolean {
  if (job.state.queued === true) return false;
  return job.status === 'running' && (!job.owner_until || Date.parse(job.owner_until) < nowMs);
}

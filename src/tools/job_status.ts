import { z } from 'zod';
import { LoraloopError } from '../core/errors.js';
import { ok } from '../core/result.js';
import { defaultSleep } from '../core/retry.js';
import { CALL_JOB_KIND, isAbandoned, type CallJob } from './handover.js';
import { queuedCallLost } from './queued.js';
import { TRAINING_JOB_KIND } from '../lora/training/job.js';
import { DEADLINE_MARGIN_MS, defineTool } from './types.js';

const MAX_WAIT_SECONDS = 600;

export const jobStatusTool = defineTool({
  name: 'job_status',
  title: 'Result of long work',
  description:
    'Status, and once done the result, of work that outlived its call: a tool call that answered {status: "running", job_id} because it ran past the call budget (a cover on a remote GPU, a batch, a large dataset_analyze, improve_run). With wait_seconds it waits (never past the call budget). Training job ids are answered by lora_status.',
  input: z.object({
    job_id: z.string().min(1).max(200).describe('The job_id a running call returned.'),
    wait_seconds: z.number().min(0).max(MAX_WAIT_SECONDS).optional().describe('Wait up to this long for it to finish (capped by the call budget). Default 0.'),
  }),
  output: z.object({
    job_id: z.string().describe('The job.'),
    tool: z.string().describe('The tool whose call this job is.'),
    status: z.enum(['running', 'succeeded', 'failed', 'lost']).describe('running; succeeded or failed (the result is in `result`); lost: the server process that ran it stopped.'),
    progress: z.number().min(0).max(1).describe('0..1.'),
    message: z.string().nullable().describe('The last progress message.'),
    result: z.record(z.string(), z.unknown()).nullable().describe("The tool's own structured result once it finished (its output schema), else null."),
    error: z.string().nullable().describe('What went wrong, for a failed or lost job.'),
    waited_seconds: z.number().describe('How long this call waited.'),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  async handler(ctx, input) {
    const jobs = ctx.services.store.jobs;
    let job = (await jobs.get(input.job_id)) as CallJob | undefined;
    if (job?.kind === TRAINING_JOB_KIND) {
      throw new LoraloopError('INVALID_INPUT', `${input.job_id} is a training job.`, { hint: `Call lora_status {"job_id": "${input.job_id}"} for its progress and result.` });
    }
    if (!job || job.kind !== CALL_JOB_KIND) {
      throw new LoraloopError('NOT_FOUND', `No running or finished call "${input.job_id}".`, { hint: 'Use the job_id that a tool call returned with status "running".' });
    }
    const started = Date.now();
    const until = Math.min(started + (input.wait_seconds ?? 0) * 1000, (ctx.deadline ?? Infinity) - DEADLINE_MARGIN_MS);
    // A queued call is lost when the queue gave up on it (every worker that took it stopped).
    const gone = async (j: CallJob) => isAbandoned(j, ctx.services.now().getTime()) || (await queuedCallLost(ctx.services, j));
    let lost = await gone(job);
    while (job.status === 'running' && !lost && Date.now() < until && !ctx.signal.aborted) {
      try {
        await defaultSleep(Math.min(250, Math.max(0, until - Date.now())), ctx.signal);
      } catch {
        break;
      }
      job = ((await jobs.get(input.job_id)) as CallJob | undefined) ?? job;
      lost = await gone(job);
    }
    const waited = Math.round((Date.now() - started) / 100) / 10;
    const tool = job.state.tool;
    const r = job.state.result;
    if (job.status === 'running' || !r) {
      const next = lost ? `Call ${tool} again.` : `Call job_status {"job_id": "${job.id}", "wait_seconds": 30} again.`;
      const pct = Math.round(job.progress * 100);
      return ok(
        { job_id: job.id, tool, status: lost ? ('lost' as const) : ('running' as const), progress: job.progress, message: job.state.message ?? null, result: null, error: lost ? `The loraloop process${job.state.queued ? 'es' : ''} that ran this call stopped before it finished; its work is lost.` : null, waited_seconds: waited },
        lost
          ? `${tool} (job ${job.id}) was lost: the loraloop process that ran it stopped before it finished. ${next}`
          : `${tool} is still running (${pct}%${job.state.message ? `, ${job.state.message}` : ''}). ${next}`,
        undefined,
        next,
      );
    }
    const errorText = r.success ? null : ((r.data as { error?: { message?: string } }).error?.message ?? r.reasoning);
    return ok(
      { job_id: job.id, tool, status: r.success ? ('succeeded' as const) : ('failed' as const), progress: 1, message: job.state.message ?? null, result: (r.data ?? null) as Record<string, unknown> | null, error: errorText, waited_seconds: waited },
      `${tool} ${r.success ? 'finished' : 'failed'}: ${r.reasoning}`,
      r.artifacts,
      r.next,
    );
  },
});

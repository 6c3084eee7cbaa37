import { z } from 'zod';
import { LoraloopError } from '../core/errors.js';
import { ok } from '../core/result.js';
import { getTrainingJob, isTerminalTraining, listTrainingJobs, type TrainingJob } from '../lora/training/job.js';
import { cancelTrainingRecord } from '../lora/training/outcome.js';
import { TRAINING_DRIVERS } from '../lora/training/runner.js';
import { defineTool } from './types.js';

export const loraCancelTool = defineTool({
  name: 'lora_cancel',
  title: 'Cancel a training',
  description:
    'Cancel a training job (or every unfinished training of a LoRA): Replicate trainings are canceled remotely, kohya runs are stopped. Finished jobs are left as they are.',
  input: z.object({
    job_id: z.string().min(1).optional().describe('The training job to cancel.'),
    lora_id: z.string().min(1).optional().describe('Cancel every unfinished training of this LoRA project (id or name).'),
  }),
  output: z.object({
    canceled: z
      .array(z.object({ job_id: z.string().describe('Job id.'), previous_status: z.string().describe('Its status before.'), remote_canceled: z.boolean().describe('True when the backend was told to stop (Replicate cancel or kohya kill).') }))
      .describe('Jobs canceled by this call.'),
    already_ended: z.array(z.object({ job_id: z.string().describe('Job id.'), status: z.string().describe('Its final status.') })).describe('Jobs that had already ended.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
  async handler(ctx, input) {
    const s = ctx.services;
    let jobs: TrainingJob[];
    if (input.job_id) {
      const j = await getTrainingJob(s, input.job_id);
      if (!j) throw new LoraloopError('NOT_FOUND', `No training job "${input.job_id}".`, { hint: 'lora_status {lora_id} shows the latest training of a project.' });
      jobs = [j];
    } else if (input.lora_id) {
      const lora = await s.store.loras.find(input.lora_id);
      if (!lora) throw new LoraloopError('NOT_FOUND', `No LoRA project "${input.lora_id}".`, { hint: 'Call lora_list to see the projects.' });
      jobs = await listTrainingJobs(s, { lora_id: lora.id });
    } else {
      throw new LoraloopError('INVALID_INPUT', 'Give a job_id or a lora_id.', { hint: 'lora_train returned the job_id.' });
    }
    const canceled: Array<{ job_id: string; previous_status: string; remote_canceled: boolean }> = [];
    const ended: Array<{ job_id: string; status: string }> = [];
    for (const job of jobs) {
      if (isTerminalTraining(job.status)) {
        if (input.job_id) ended.push({ job_id: job.id, status: job.status });
        continue;
      }
      const driver = TRAINING_DRIVERS[job.state.backend];
      let remote = false;
      if (job.state.backend === 'replicate') {
        // Stop the spending first: a remote cancel that fails leaves the job as it is, to be retried.
        if (job.remote_id) {
          try {
            await driver.cancel(job, s);
          } catch (e) {
            throw new LoraloopError('UPSTREAM_ERROR', `Replicate did not confirm the cancel of training ${job.remote_id}: ${e instanceof Error ? e.message : String(e)}`, {
              hint: 'Call lora_cancel again; the training keeps running until Replicate confirms.',
              cause: e,
            });
          }
          remote = true;
        }
        await cancelTrainingRecord(s, job.id, 'Canceled with lora_cancel.');
      } else {
        // Record first: the process that runs the kohya child kills it when it sees the job canceled.
        await cancelTrainingRecord(s, job.id, 'Canceled with lora_cancel.');
        await driver.cancel(job, s);
        remote = Boolean(job.state.kohya?.launched_at);
      }
      canceled.push({ job_id: job.id, previous_status: job.status, remote_canceled: remote });
      const after = await getTrainingJob(s, job.id);
      if (after && after.status !== 'canceled') ended.push({ job_id: job.id, status: after.status });
    }
    const reasoning = canceled.length
      ? `Canceled ${canceled.length} training job${canceled.length > 1 ? 's' : ''}${canceled.some((c) => c.remote_canceled) ? ' at the backend' : ''}. Earlier versions of the LoRA are unchanged.`
      : ended.length
        ? `Nothing to cancel: the job already ended (${ended.map((e) => e.status).join(', ')}).`
        : 'Nothing to cancel: no training is running for this LoRA.';
    return ok({ canceled, already_ended: ended }, reasoning);
  },
});

import { z } from 'zod';
import { ok } from '../core/result.js';
import { TRAINING_STATUSES } from '../lora/training/job.js';
import { compareVariants, comparisonRowSchema, describeJob, epochFileSchema, jobViewSchema } from '../lora/training/status.js';
import { trainingStatus } from '../lora/training/watch.js';
import type { LoraRecord } from '../store/repos/loras.js';
import { DEADLINE_MARGIN_MS, defineTool } from './types.js';

/** Longest a single waiting call blocks. */
const MAX_WAIT_SECONDS = 600;

/** The answer for a project with no training yet: every LoRA has a status. */
function createdAnswer(lora: LoraRecord, images: number) {
  const next = images === 0 ? 'Add training images with lora_upload_images, then caption them (caption_write).' : 'Check the set with dataset_analyze, then start a training with lora_train.';
  return ok(
    {
      lora_id: lora.id,
      job_id: null,
      status: 'created' as const,
      images,
      progress: 0,
      step: null,
      total_steps: null,
      eta_seconds: null,
      loss: null,
      loss_text: null,
      epoch_files: [],
      error: null,
      version: null,
      jobs: [],
      comparison: null,
      waited_seconds: 0,
      done: true,
    },
    `${lora.name} is created and has not been trained yet: ${images} training image${images === 1 ? '' : 's'}. ${next}`,
  );
}

export const loraStatusTool = defineTool({
  name: 'lora_status',
  title: 'Training status',
  description:
    'Status of a training job (or the latest training of a LoRA; a LoRA never trained answers created, with its image count): queued, training, ready, failed or canceled, with progress 0..1, step, ETA, last loss, the checkpoint of each saved epoch, and the error text of a failed job. Variants are compared side by side. With wait_seconds it waits (sending progress notifications) until the job ends or the time is up.',
  input: z.object({
    lora_id: z.string().min(1).optional().describe('LoRA project id or name: shows its latest training (all variants).'),
    job_id: z.string().min(1).optional().describe('A training job id from lora_train.'),
    wait_seconds: z.number().min(0).max(MAX_WAIT_SECONDS).optional().describe('Wait up to this long for the job(s) to end, with progress notifications. Default 0 (answer at once).'),
  }),
  output: z.object({
    lora_id: z.string().describe('The LoRA project.'),
    job_id: z.string().nullable().describe('The job the top-level fields describe (null for a project never trained).'),
    status: z.enum(['created', ...TRAINING_STATUSES]).describe('created (a project never trained yet), queued, training, ready, failed or canceled.'),
    images: z.number().int().optional().describe('Training images in the project (answers for a project never trained).'),
    progress: z.number().min(0).max(1).describe('0..1.'),
    step: z.number().int().nullable().describe('Current step.'),
    total_steps: z.number().int().nullable().describe('Total steps (of the current stage).'),
    eta_seconds: z.number().nullable().describe('Estimated seconds left.'),
    loss: z.number().nullable().describe('Last loss (null when unknown or not finite).'),
    loss_text: z.string().nullable().describe('Last loss as printed (e.g. "nan").'),
    epoch_files: z.array(epochFileSchema).describe('Saved checkpoints.'),
    error: z.string().nullable().describe("The backend's error text of a failed job."),
    version: z.number().int().nullable().describe('Registry version made by the job, once ready.'),
    jobs: z.array(jobViewSchema).describe('Every job of the same lora_train call (variants).'),
    comparison: z.array(comparisonRowSchema).nullable().describe('Variants side by side (null for a single job).'),
    waited_seconds: z.number().describe('How long this call waited.'),
    done: z.boolean().describe('True when every job of the group has ended.'),
  }),
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
  longRunning: true,
  async handler(ctx, input) {
    const st = await trainingStatus(ctx.services, input, {
      oneShot: ctx.oneShot ?? false,
      stopBy: (ctx.deadline ?? Infinity) - DEADLINE_MARGIN_MS,
      signal: ctx.signal,
      progress: ctx.progress,
    });
    if ('created' in st) return createdAnswer(st.created, st.images);
    const { views, main, done, unattended } = st;
    const wait = input.wait_seconds ?? 0;
    const many = views.length > 1;
    const comparison = many ? compareVariants(views) : null;
    let next: string;
    if (!done && unattended) next = 'No loraloop process is running it: start the MCP server or the daemon, which run training jobs.';
    else if (!done) next = `Call lora_status again${wait ? '' : ' with wait_seconds to wait for it'}.`;
    else if (many) {
      const ready = views.filter((v) => v.status === 'ready');
      next = ready.length
        ? `Compare the candidates (${ready.map((v) => `${v.variant}: v${v.version}`).join(', ')}) on real prompts, then lora_activate the best.`
        : 'No variant succeeded; read the errors, adjust the parameters and train again.';
    } else if (main.status === 'ready') next = `Generate with it, or lora_activate {lora_id, version: ${main.version}} if another version is active.`;
    else if (main.status === 'failed') next = 'Fix what the error says and call lora_train again.';
    else next = 'Start a new training with lora_train when ready.';
    return ok(
      {
        lora_id: main.lora_id,
        job_id: main.job_id,
        status: main.status,
        progress: main.progress,
        step: main.step,
        total_steps: main.total_steps,
        eta_seconds: main.eta_seconds,
        loss: main.loss,
        loss_text: main.loss_text,
        epoch_files: main.epoch_files,
        error: main.error,
        version: main.version,
        jobs: views,
        comparison,
        waited_seconds: st.waitedSeconds,
        done,
      },
      `${views.map(describeJob).join(' ')} ${next}`,
      undefined,
      next,
    );
  },
});

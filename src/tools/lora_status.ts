import { z } from 'zod';
import { LoraloopError } from '../core/errors.js';
import { ok } from '../core/result.js';
import { defaultSleep } from '../core/retry.js';
import { getTrainingJob, isTerminalTraining, listTrainingJobs, TRAINING_STATUSES, type TrainingJob } from '../lora/training/job.js';
import { isUnowned, TRAINING_DRIVERS } from '../lora/training/runner.js';
import { compareVariants, comparisonRowSchema, describeJob, epochFileSchema, jobView, jobViewSchema } from '../lora/training/status.js';
import type { LoraRecord } from '../store/repos/loras.js';
import type { ToolContext } from './types.js';
import { DEADLINE_MARGIN_MS, defineTool } from './types.js';

/** Longest a single waiting call blocks. */
const MAX_WAIT_SECONDS = 600;

/** A group of jobs to report, or a project never trained (answered as `created`, not as an error). */
type Subject = { jobs: TrainingJob[]; primary: string } | { created: LoraRecord };

async function groupOf(ctx: ToolContext, input: { lora_id?: string | undefined; job_id?: string | undefined }): Promise<Subject> {
  const s = ctx.services;
  if (input.job_id) {
    const job = await getTrainingJob(s, input.job_id);
    if (!job) throw new LoraloopError('NOT_FOUND', `No training job "${input.job_id}".`, { hint: 'lora_train returns the job id; lora_status {lora_id} shows the latest training of a project.' });
    const siblings = (await listTrainingJobs(s, { lora_id: job.state.lora_id })).filter((j) => j.state.group_id === job.state.group_id);
    return { jobs: siblings.length ? siblings : [job], primary: job.id };
  }
  const lora = await s.store.loras.find(input.lora_id ?? '');
  if (!lora) throw new LoraloopError('NOT_FOUND', `No LoRA project "${input.lora_id}".`, { hint: 'Call lora_list to see the projects and their ids.' });
  const all = await listTrainingJobs(s, { lora_id: lora.id });
  const latest = all[0];
  if (!latest) return { created: lora };
  const group = all.filter((j) => j.state.group_id === latest.state.group_id).sort((a, b) => (a.state.variant?.index ?? 0) - (b.state.variant?.index ?? 0));
  return { jobs: group, primary: group[0]?.id ?? latest.id };
}

/** The answer for a project with no training yet: every LoRA has a status. */
async function createdAnswer(ctx: ToolContext, lora: LoraRecord) {
  const images = await ctx.services.store.loras.countImages(lora.id);
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
    const s = ctx.services;
    if (!input.job_id && !input.lora_id) {
      throw new LoraloopError('INVALID_INPUT', 'Give a job_id or a lora_id.', { hint: 'lora_train returned the job_id; a lora_id shows its latest training.' });
    }
    const wait = input.wait_seconds ?? 0;
    const group = await groupOf(ctx, input);
    if ('created' in group) return createdAnswer(ctx, group.created);
    const primary = group.primary;
    let jobs = group.jobs;
    const nowMs = () => s.now().getTime();

    // Nobody follows an unfinished job (no server or daemon running, or it died): follow it from here.
    // A one-shot CLI call may follow a Replicate job while it waits (another process can adopt it later), but
    // never a kohya run: the child would die when the CLI exits.
    const orphans = jobs.filter((j) => isUnowned(j, nowMs()) && TRAINING_DRIVERS[j.state.backend].configured(s));
    const runner = s.trainingRunner();
    const canFollow = ctx.face !== 'cli' || (wait > 0 && orphans.every((j) => j.state.backend === 'replicate'));
    if (orphans.length && canFollow) {
      runner.start();
      await runner.scan();
    }
    const unattended = orphans.length > 0 && !canFollow;

    const started = Date.now();
    // Waiting on a job nobody runs would only burn the caller's time.
    // …and never past the caller's own deadline (the MCP call budget): it gets an answer, not a cut-off.
    const deadline = Math.min(started + (unattended ? 0 : wait) * 1000, (ctx.deadline ?? Infinity) - DEADLINE_MARGIN_MS);
    const tick = Math.max(100, Math.min(1000, s.trainingOptions.pollIntervalMs ?? 1000));
    let lastMessage = '';
    for (;;) {
      jobs = await Promise.all(jobs.map(async (j) => (await getTrainingJob(s, j.id)) ?? j));
      const views = jobs.map((j) => jobView(j, nowMs()));
      const done = views.every((v) => isTerminalTraining(v.status));
      if (wait > 0) {
        const avg = views.reduce((a, v) => a + v.progress, 0) / Math.max(1, views.length);
        const message = views.map(describeJob).join(' ');
        if (message !== lastMessage) {
          ctx.progress({ progress: Math.round(avg * 1000) / 10, total: 100, message });
          lastMessage = message;
        }
      }
      if (done || Date.now() >= deadline || ctx.signal.aborted) break;
      try {
        await defaultSleep(Math.min(tick, Math.max(0, deadline - Date.now())), ctx.signal);
      } catch {
        break;
      }
    }

    const views = jobs.map((j) => jobView(j, nowMs()));
    const main = views.find((v) => v.job_id === primary) ?? views[0];
    if (!main) throw new LoraloopError('NOT_FOUND', 'The training job disappeared.');
    const done = views.every((v) => isTerminalTraining(v.status));
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
        waited_seconds: Math.round((Date.now() - started) / 100) / 10,
        done,
      },
      `${views.map(describeJob).join(' ')} ${next}`,
      undefined,
      next,
    );
  },
});

/**
 * What `lora_status` shows about training jobs: one view per job, and for variants a side-by-side
 * comparison that lists only the parameters that differ, with each variant's progress, last loss and
 * resulting version.
 */
import { z } from 'zod';
import { TRAINING_STATUSES, type TrainingJob } from './job.js';

export const epochFileSchema = z.object({
  stage: z.number().int().describe('0-based stage index (0 without stages).'),
  epoch: z.number().int().describe('Epoch number of the checkpoint.'),
  path: z.string().describe('Where the checkpoint file is.'),
  bytes: z.number().int().nullable().describe('File size, null when unknown.'),
});

export const jobViewSchema = z.object({
  job_id: z.string().describe('Training job id.'),
  lora_id: z.string().describe('LoRA project id.'),
  backend: z.string().describe('replicate or kohya.'),
  preset: z.string().describe('Preset the parameters started from.'),
  status: z.enum(TRAINING_STATUSES).describe('queued, training, ready, failed or canceled.'),
  phase: z.string().describe('Finer step: queued, preparing, uploading, submitting, running, downloading, registering, done.'),
  progress: z.number().min(0).max(1).describe('0..1 over all stages.'),
  step: z.number().int().nullable().describe('Current step of the current stage.'),
  total_steps: z.number().int().nullable().describe('Total steps of the current stage.'),
  eta_seconds: z.number().nullable().describe('Estimated seconds left in the current stage.'),
  loss: z.number().nullable().describe('Last reported loss (null when unknown or not finite).'),
  loss_text: z.string().nullable().describe('Last loss as printed, e.g. "0.0423" or "nan".'),
  epoch: z.number().int().nullable().describe('Current epoch (kohya).'),
  total_epochs: z.number().int().nullable().describe('Epochs in the current stage (kohya).'),
  epoch_files: z.array(epochFileSchema).describe('Checkpoints saved so far, per stage and epoch.'),
  error: z.string().nullable().describe("The backend's own error text when the job failed."),
  version: z.number().int().nullable().describe('Registry version made from this job, once ready.'),
  variant: z.string().nullable().describe('Variant name when the job is one of several siblings.'),
  group_id: z.string().describe('Jobs started by the same lora_train call share it.'),
  stage: z
    .object({ index: z.number().int(), count: z.number().int(), name: z.string() })
    .nullable()
    .describe('Current stage (1-based index) of a staged training.'),
  params: z.record(z.string(), z.unknown()).describe('Parameters sent to the backend.'),
  remote_id: z.string().nullable().describe('The backend id (Replicate training id).'),
  warnings: z.array(z.string()).describe('Things the backend could not honour, and advice.'),
  followed: z.boolean().describe('Whether a loraloop process is following the job right now.'),
  created_at: z.string().describe('When the job was queued.'),
  updated_at: z.string().describe('Last change.'),
});
export type JobView = z.infer<typeof jobViewSchema>;

export const comparisonRowSchema = z.object({
  variant: z.string().describe('Variant name.'),
  job_id: z.string().describe('Its job.'),
  status: z.string().describe('Its status.'),
  progress: z.number().describe('Its progress 0..1.'),
  loss: z.string().nullable().describe('Its last loss as printed.'),
  version: z.number().int().nullable().describe('Its registry version once ready (a candidate to compare and activate).'),
  differs: z.record(z.string(), z.unknown()).describe('Only the parameters that differ between the variants.'),
});
export type ComparisonRow = z.infer<typeof comparisonRowSchema>;

export function jobView(job: TrainingJob, nowMs: number): JobView {
  const s = job.state;
  const stages = s.stages;
  return {
    job_id: job.id,
    lora_id: s.lora_id,
    backend: s.backend,
    preset: s.preset,
    status: (TRAINING_STATUSES as readonly string[]).includes(job.status) ? (job.status as JobView['status']) : 'queued',
    phase: s.phase,
    progress: Math.max(0, Math.min(1, job.progress)),
    step: s.step,
    total_steps: s.total_steps,
    eta_seconds: job.status === 'training' ? s.eta_seconds : job.status === 'ready' ? 0 : null,
    loss: s.loss,
    loss_text: s.loss_text,
    epoch: s.epoch,
    total_epochs: s.total_epochs,
    epoch_files: s.epoch_files ?? [],
    error: job.error,
    version: s.version,
    variant: s.variant?.name ?? null,
    group_id: s.group_id,
    stage: stages?.length ? { index: s.stage_index + 1, count: stages.length, name: stages[s.stage_index]?.name ?? '' } : null,
    params: s.params as Record<string, unknown>,
    remote_id: job.remote_id,
    warnings: s.warnings ?? [],
    followed: job.owner !== null && job.owner_until !== null && Date.parse(job.owner_until) >= nowMs,
    created_at: job.created_at,
    updated_at: job.updated_at,
  };
}

/** Side by side: each variant's outcome and only the parameters that differ. */
export function compareVariants(views: JobView[]): ComparisonRow[] {
  const keys = new Set(views.flatMap((v) => Object.keys(v.params)));
  const differing = [...keys].filter((k) => new Set(views.map((v) => JSON.stringify(v.params[k] ?? null))).size > 1).sort();
  return [...views]
    .sort((a, b) => (a.variant ?? '').localeCompare(b.variant ?? ''))
    .map((v) => ({
      variant: v.variant ?? v.job_id,
      job_id: v.job_id,
      status: v.status,
      progress: v.progress,
      loss: v.loss_text,
      version: v.version,
      differs: Object.fromEntries(differing.map((k) => [k, v.params[k] ?? null])),
    }));
}

/** A one-line summary of a job for reasoning text. */
export function describeJob(v: JobView): string {
  const name = v.variant ? `Variant ${v.variant}` : 'The training';
  switch (v.status) {
    case 'queued':
      return `${name} is queued (${v.phase}).`;
    case 'training': {
      const steps = v.step !== null && v.total_steps ? ` step ${v.step}/${v.total_steps}` : '';
      const stage = v.stage ? ` in stage ${v.stage.index}/${v.stage.count}` : '';
      const loss = v.loss_text ? `, loss ${v.loss_text}` : '';
      const eta = v.eta_seconds !== null ? `, about ${formatDuration(v.eta_seconds)} left` : '';
      return `${name} is ${Math.round(v.progress * 100)}% done${steps}${stage}${loss}${eta}.`;
    }
    case 'ready':
      return `${name} is ready as v${v.version ?? '?'}.`;
    case 'failed':
      return `${name} failed: ${v.error ?? 'no error text'}`;
    case 'canceled':
      return `${name} was canceled.`;
  }
}

export function formatDuration(seconds: number): string {
  if (seconds < 90) return `${Math.max(0, Math.round(seconds))} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

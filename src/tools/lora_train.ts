import { z } from 'zod';
import { ok } from '../core/result.js';
import { PRESET_NAMES } from '../lora/training/presets.js';
import { TRAINING_BACKENDS } from '../lora/training/params.js';
import { offerTrainings } from '../lora/training/queue.js';
import { MAX_VARIANTS, planTraining } from '../lora/training/submit.js';
import { defineTool } from './types.js';

const paramValue = z.union([z.number(), z.string(), z.boolean(), z.array(z.number())]);
const paramsSchema = z
  .record(z.string(), paramValue)
  .describe(
    "Backend parameters over the preset. replicate: the trainer's inputs (steps 3..6000, learning_rate, batch_size, resolution \"512,768,1024\", lora_rank 1..128, caption_dropout_rate, optimizer, cache_latents_to_disk, layers_to_optimize_regex, gradient_checkpointing). kohya: sd-scripts arguments without dashes (network_dim, network_alpha, learning_rate, lr_scheduler, lr_warmup_steps, min_snr_gamma, noise_offset, max_train_steps, max_train_epochs, save_every_n_epochs, mixed_precision, gradient_checkpointing, gradient_accumulation_steps, train_batch_size, optimizer_type, resolution, flip_aug, color_aug, ...). Generic steps, epochs, rank, alpha, batch_size, lr, optimizer are mapped.",
  );

export const loraTrainTool = defineTool({
  name: 'lora_train',
  title: 'Train a LoRA',
  description:
    'Queue a training of a LoRA project on Replicate (FLUX) or kohya sd-scripts, and return the job id at once. Every parameter is checked against the backend before anything is sent. Up to 4 variants (parameter sets on the same data) run side by side; kohya stages run one after another, each with its own data mix, learning rate and epochs, resuming from the previous stage. Follow with lora_status.',
  input: z.object({
    lora_id: z.string().min(1).describe('LoRA project id or name.'),
    backend: z.enum(TRAINING_BACKENDS).describe('replicate (REPLICATE_API_TOKEN + LORALOOP_REPLICATE_DESTINATION) or kohya (LORALOOP_KOHYA_CMD + LORALOOP_KOHYA_BASE_MODEL).'),
    preset: z
      .enum(PRESET_NAMES)
      .optional()
      .describe('seed-default (512, batch 1, 1000 steps, lr 1e-4 constant, rank 4), quality-tuned (dim 64/alpha 32, lr 8e-5 cosine_with_restarts, min_snr_gamma 5, ...), flux-replicate (trainer defaults). Default: flux-replicate on replicate, seed-default on kohya.'),
    params: paramsSchema.optional(),
    variants: z
      .array(
        z.object({
          name: z.string().min(1).max(40).optional().describe('Short name shown in the comparison (default A, B, C, D).'),
          params: paramsSchema.optional(),
        }),
      )
      .min(1)
      .max(MAX_VARIANTS)
      .optional()
      .describe('Up to 4 parameter sets (each over preset + params), run as sibling jobs on the same data.'),
    stages: z
      .array(
        z.object({
          name: z.string().min(1).max(40).optional().describe('Stage name (default stage-1, stage-2...).'),
          mix: z
            .record(z.string(), z.number().positive().max(100))
            .describe('Relative share of each category in an epoch, e.g. {"closeup": 2, "wide": 1}; unnamed categories get 1.'),
          learning_rate: z.number().positive().max(1).describe('Learning rate of this stage.'),
          epochs: z.number().int().min(1).max(1000).describe('Epochs of this stage.'),
        }),
      )
      .min(1)
      .max(6)
      .optional()
      .describe('kohya only: stages run in order, each resuming from the previous stage weights (--network_weights).'),
  }),
  output: z.object({
    job_id: z.string().describe('The (first) training job id; pass it to lora_status or lora_cancel.'),
    job_ids: z.array(z.string()).describe('Every job started (one per variant).'),
    group_id: z.string().describe('Shared by the jobs of this call.'),
    lora_id: z.string().describe('The LoRA project id.'),
    backend: z.string().describe('replicate or kohya.'),
    preset: z.string().describe('The preset used.'),
    status: z.literal('queued').describe('Jobs start queued; a runner submits and follows them.'),
    params: z.record(z.string(), z.unknown()).describe('Parameters of the first job exactly as they will be sent.'),
    variants: z
      .array(z.object({ name: z.string().describe('Variant name.'), job_id: z.string().describe('Its job.'), params: z.record(z.string(), z.unknown()).describe('Its parameters as sent.') }))
      .describe('One entry per variant (empty without variants).'),
    stages: z
      .array(z.object({ name: z.string().describe('Stage name.'), mix: z.record(z.string(), z.number()).describe('Data mix.'), learning_rate: z.number().describe('Learning rate.'), epochs: z.number().int().describe('Epochs.') }))
      .nullable()
      .describe('The stages, or null.'),
    started: z.boolean().describe('True when a follower is on its way: a worker of the cluster queue, or a runner in this process.'),
    warnings: z.array(z.string()).describe('Settings the backend cannot honour, and advice.'),
  }),
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  // Planned on a worker; with the queue each job is then followed through its own queue job, by whichever
  // worker takes it (and by another one if that one dies).
  worker: true,
  async handler(ctx, input) {
    const s = ctx.services;
    const plan = await planTraining(s, input);
    const runner = s.trainingRunner();
    const started = s.queue ? await offerTrainings(s.queue, plan.jobs, ctx.logger) : runner.running;
    if (started && !s.queue) void runner.scan();
    const first = plan.jobs[0];
    if (!first) throw new Error('planTraining returned no job');
    const many = plan.jobs.length > 1;
    const follow = `Follow it with lora_status {"job_id": "${first.id}", "wait_seconds": 60}`;
    const where = started
      ? `It is being submitted now${s.queue ? ' by a worker' : ''}.`
      : 'It starts when a loraloop server or daemon is running, or while lora_status waits on it.';
    return ok(
      {
        job_id: first.id,
        job_ids: plan.jobs.map((j) => j.id),
        group_id: plan.group_id,
        lora_id: plan.lora.id,
        backend: input.backend,
        preset: plan.preset,
        status: 'queued' as const,
        params: first.state.params as Record<string, unknown>,
        variants: plan.jobs.filter((j) => j.state.variant).map((j) => ({ name: j.state.variant?.name ?? j.id, job_id: j.id, params: j.state.params as Record<string, unknown> })),
        stages: plan.jobs[0]?.state.stages ?? null,
        started,
        warnings: plan.warnings,
      },
      `Queued ${many ? `${plan.jobs.length} sibling trainings` : 'a training'} of ${plan.lora.name} on ${input.backend} (preset ${plan.preset}${first.state.stages ? `, ${first.state.stages.length} stages` : ''}). ${where} ${follow}${many ? ' to compare the variants side by side' : ''}.${plan.warnings.length ? ` Note: ${plan.warnings.join(' ')}` : ''}`,
      undefined,
      `${follow}.`,
    );
  },
});

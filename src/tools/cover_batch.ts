import { z } from 'zod';
import type { Services } from './services.js';
import { isLoraloopError } from '../core/errors.js';
import { ok, type Artifact } from '../core/result.js';
import { BACKEND_NAMES, type BackendName } from '../cover/backends/registry.js';
import { createBatch, isRunningHere, runBatch, summarizeBatch, type BatchSummary } from '../cover/batch.js';
import { coverSizeSchema, parseSize } from '../cover/sizes.js';
import { loraInputSchema } from '../cover/generate-cover.js';
import { DEADLINE_MARGIN_MS, defineTool, type ToolContext } from './types.js';
import { runBatchOnQueue } from '../cover/queue/batch.js';

export const coverBatchInput = z.object({
  title: z.string().max(2000).optional().describe('Article headline: drafts are finished covers (logo + title composited). Give title or prompt.'),
  subtitle: z.string().max(2000).optional().describe('Optional smaller line under the title.'),
  prompt: z.string().max(2000).optional().describe('Subject for the image model; alone (no title) the drafts are raw images.'),
  batch_id: z.string().optional().describe('Report on (and resume, if its process died) an earlier batch instead of starting one.'),
  count: z.number().int().min(1).max(200).default(8).describe('Number of drafts (default 8).'),
  mode: z.enum(['explore', 'quick']).default('explore').describe('explore: spread over 2-3 checkpoints and LoRA combinations, favouring the ones people select; quick: all drafts on the best one.'),
  backend: z.enum(BACKEND_NAMES).optional().describe('comfyui (default when COMFYUI_URLS is set), replicate, or local.'),
  tier: z.string().max(100).optional().describe('Checkpoint tier for comfyui: sd15_draft (default) or sdxl_standard, or one from LORALOOP_CHECKPOINT_TIERS.'),
  loras: z.array(loraInputSchema).max(10).optional().describe('LoRAs to use; omit for the coin LoRA plus auto-discovered ones.'),
  size: coverSizeSchema.default('1200x630'),
  seed: z.number().int().min(0).max(2 ** 31 - 200).optional().describe('Seed of the first draft; draft i uses seed + i.'),
  style: z.string().optional().describe('Background style for the local backend.'),
  wait: z.boolean().optional().describe('Wait for the whole batch (default: true for count <= 8). Otherwise returns the batch_id at once; call again with batch_id for progress.'),
});

const draftSchema = z.object({
  draft_id: z.string().describe('Id for drafts_select.'),
  number: z.number().int().describe('1-based number, as on the contact sheet (drafts_select takes it too).'),
  status: z.enum(['pending', 'done', 'failed']).describe('pending, done (stored) or failed.'),
  checkpoint: z.string().nullable().describe('Checkpoint the draft is (or was) made with.'),
  loras: z.array(loraInputSchema).describe('LoRAs of the draft.'),
  seed: z.number().int().describe('Seed of the draft.'),
  server: z.string().nullable().describe('Server that made it.'),
  cover_id: z.string().nullable().describe('Stored cover id when done.'),
  path: z.string().nullable().describe('PNG path when done.'),
  error: z.string().nullable().describe('Last error of a failed or retried draft.'),
  coin: z.string().nullable().describe('Primary coin ticker of the finished cover, or null.'),
  palette: z.array(z.string()).describe('Hex colours of the finished cover (empty while pending).'),
  style: z.string().nullable().describe('Background style of the finished cover, when the backend has one.'),
});

export const coverBatchOutput = z.object({
  batch_id: z.string().describe('Id of the batch: pass it to drafts_select, or back to cover_batch for progress.'),
  job_id: z.string().nullable().describe('The persistent job running the batch.'),
  status: z.enum(['running', 'done', 'failed', 'canceled']).describe('running until every draft is done or given up.'),
  mode: z.enum(['explore', 'quick']).describe('Batch mode.'),
  backend: z.string().describe('Backend the drafts run on.'),
  tier: z.string().nullable().describe('Checkpoint tier (comfyui).'),
  prompt: z.string().describe('Prompt sent to the image model.'),
  progress: z
    .object({
      done: z.number().int().describe('Drafts stored.'),
      failed: z.number().int().describe('Drafts given up.'),
      pending: z.number().int().describe('Drafts still to make.'),
      total: z.number().int().describe('Drafts in the batch.'),
    })
    .describe('Where the batch stands.'),
  gpu_distribution: z.record(z.string(), z.number().int()).describe('Drafts made per server.'),
  checkpoint_distribution: z.record(z.string(), z.number().int()).describe('Drafts planned per checkpoint.'),
  drafts: z.array(draftSchema).describe('Every draft, in order.'),
  contact_sheet: z.string().nullable().describe('PNG contact sheet of the drafts, labelled with checkpoint and LoRAs (when done).'),
  makespan_ms: z.number().nullable().describe('Wall time of the last run of the batch.'),
  warnings: z.array(z.string()).describe('Things to know (missing checkpoints, failed drafts).'),
});

type Out = z.output<typeof coverBatchOutput>;

async function toData(s: Services, sum: BatchSummary): Promise<Out> {
  const b = sum.batch;
  const covers = await Promise.all(sum.drafts.map(async (d) => (d.cover_id ? s.store.covers.get(d.cover_id) : undefined)));
  return {
    batch_id: b.id,
    job_id: b.job_id,
    status: b.status,
    mode: b.mode,
    backend: b.backend,
    tier: b.tier,
    prompt: b.prompt,
    progress: { done: sum.done, failed: sum.failed, pending: sum.pending, total: sum.drafts.length },
    gpu_distribution: sum.gpu_distribution,
    checkpoint_distribution: sum.checkpoint_distribution,
    drafts: sum.drafts.map((d, i) => {
      const c = covers[i];
      return {
        draft_id: d.id,
        number: d.idx + 1,
        status: d.status,
        checkpoint: d.checkpoint,
        loras: d.loras,
        seed: d.seed,
        server: d.server,
        cover_id: d.cover_id,
        path: d.blob_path,
        error: d.error,
        coin: c?.primary_symbol ?? null,
        palette: c?.palette.colors ?? [],
        style: c?.style ?? null,
      };
    }),
    contact_sheet: b.contact_sheet_path,
    makespan_ms: sum.makespan_ms,
    warnings: sum.warnings,
  };
}

function reasoningOf(sum: BatchSummary, started: boolean): string {
  const b = sum.batch;
  const dist = Object.entries(sum.gpu_distribution).map(([k, v]) => `${k}: ${v}`).join(', ');
  const ck = Object.entries(sum.checkpoint_distribution)
    .filter(([k]) => k !== '(none)')
    .map(([k, v]) => `${k} x${v}`)
    .join(', ');
  if (b.status === 'running') {
    return `${started ? 'Started' : 'Batch'} ${b.id}: ${sum.done}/${sum.drafts.length} drafts done (${b.mode}, ${b.backend}${ck ? `; checkpoints ${ck}` : ''}). Call cover_batch with batch_id "${b.id}" for progress; it keeps running meanwhile.`;
  }
  if (b.status === 'failed') return `Batch ${b.id} made no draft. ${sum.warnings.slice(-3).join(' ')} Check the servers with backends_status.`;
  return [
    `Batch ${b.id}: ${sum.done}/${sum.drafts.length} drafts in ${sum.makespan_ms !== null ? `${(sum.makespan_ms / 1000).toFixed(1)} s` : '?'} (${b.mode}).`,
    ck ? `Checkpoints: ${ck}.` : '',
    dist ? `Made on ${dist}.` : '',
    b.contact_sheet_path ? `Contact sheet: ${b.contact_sheet_path}.` : '',
    ...sum.warnings.slice(0, 5),
    `Pick the good ones with drafts_select {batch_id: "${b.id}", selected: [numbers]}; later batches then favour what you chose.`,
  ]
    .filter(Boolean)
    .join(' ');
}

/**
 * The contact sheet (an image: faces preview it) and every finished draft (as files: one preview per draft would
 * flood a model's context, the sheet already shows them all); the links let a remote client or the cover
 * studio view show each draft.
 */
function filesOf(sum: BatchSummary): Artifact[] | undefined {
  const drafts: Artifact[] = sum.drafts
    .filter((d) => d.status === 'done' && d.blob_path)
    .map((d) => {
      // The hash lets a host other than the worker that made the draft serve it (from the shared blob store).
      const sha = /([0-9a-f]{64})\.png$/.exec(d.blob_path as string)?.[1];
      return { kind: 'file' as const, path: d.blob_path as string, mime_type: 'image/png', title: `Draft ${d.idx + 1}`, ...(sha ? { sha256: sha } : {}) };
    });
  const b = sum.batch;
  const sheet: Artifact[] = b.contact_sheet_path
    ? [{ kind: 'image', path: b.contact_sheet_path, mime_type: 'image/png', title: 'Contact sheet of the drafts', ...(b.contact_sheet_sha256 ? { sha256: b.contact_sheet_sha256 } : {}) }]
    : [];
  const all = [...sheet, ...drafts];
  return all.length ? all : undefined;
}

function nextOf(sum: BatchSummary): string {
  const b = sum.batch;
  if (b.status === 'running') return `Call cover_batch {"batch_id": "${b.id}"} for progress.`;
  if (b.status === 'failed') return 'Check the servers with backends_status, then try again.';
  return `Pick the good ones with drafts_select {"batch_id": "${b.id}", "selected": [numbers]}.`;
}

function defaultBackend(s: Services): BackendName {
  return s.config.comfyuiUrls.length > 0 ? 'comfyui' : 'local';
}

/** Run in the background; failures are logged (the batch row and job keep the state). */
function background(ctx: ToolContext, batchId: string): void {
  runBatch(ctx.services, batchId).catch((e: unknown) => {
    if (!(isLoraloopError(e) && e.code === 'LEASE_HELD')) ctx.services.logger.error('batch failed', { batch: batchId, error: e instanceof Error ? e.message : String(e) });
  });
}

export const coverBatchTool = defineTool({
  name: 'cover_batch',
  title: 'Make a batch of drafts',
  description:
    'Make N drafts of a cover across the GPU pool: explore mode spreads them over 2-3 checkpoints of a tier and over LoRA combinations (learning from drafts_select), quick mode uses the best checkpoint. Every draft records its checkpoint, LoRAs and server; a labelled PNG contact sheet is written. Long batches return a batch_id at once (wait: false): call again with batch_id for progress.',
  input: coverBatchInput,
  output: coverBatchOutput,
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  longRunning: true,
  // Planning asks the servers for their checkpoints: a worker's job. Reporting on (and resuming) a batch is
  // store and queue work any process can do.
  worker: (input) => input.batch_id === undefined,
  async handler(ctx, input) {
    const s = ctx.services;
    const progress = (p: { done: number; total: number; message: string }): void => ctx.progress({ progress: p.done, total: p.total, message: p.message });
    const queue = s.queue;
    const onQueue = (batchId: string, wait: boolean) =>
      queue ? runBatchOnQueue({ ...s, queue }, batchId, { wait, signal: ctx.signal, deadline: ctx.deadline !== undefined ? ctx.deadline - DEADLINE_MARGIN_MS : undefined, progress }) : undefined;
    if (input.batch_id && queue) {
      const sum = (await onQueue(input.batch_id, input.wait ?? false)) as BatchSummary;
      return ok(await toData(s, sum), reasoningOf(sum, false), filesOf(sum), nextOf(sum));
    }
    if (input.batch_id) {
      let sum = await summarizeBatch(s, input.batch_id);
      if (sum.batch.status === 'running' && !isRunningHere(s, sum.batch.id)) {
        // Its process died (or never ran it here): resume the drafts that are not done.
        if (input.wait) {
          try {
            sum = await runBatch(s, sum.batch.id, progress);
          } catch (e) {
            if (!(isLoraloopError(e) && e.code === 'LEASE_HELD')) throw e;
          }
        } else background(ctx, sum.batch.id);
      } else if (sum.batch.status === 'running' && input.wait) {
        sum = await runBatch(s, sum.batch.id, progress);
      }
      return ok(await toData(s, sum), reasoningOf(sum, false), filesOf(sum), nextOf(sum));
    }
    const { width, height } = parseSize(input.size);
    const created = await createBatch(s, {
      title: input.title,
      subtitle: input.subtitle,
      prompt: input.prompt,
      count: input.count,
      mode: input.mode,
      backend: input.backend ?? defaultBackend(s),
      tier: input.tier,
      loras: input.loras,
      width,
      height,
      seed: input.seed,
      style: input.style,
    });
    const wait = input.wait ?? input.count <= 8;
    if (queue) {
      const sum = (await onQueue(created.batch.id, wait)) as BatchSummary;
      return ok(await toData(s, sum), reasoningOf(sum, true), filesOf(sum), nextOf(sum));
    }
    if (!wait) {
      background(ctx, created.batch.id);
      return ok(await toData(s, created), reasoningOf(created, true), filesOf(created), nextOf(created));
    }
    const sum = await runBatch(s, created.batch.id, progress);
    return ok(await toData(s, sum), reasoningOf(sum, true), filesOf(sum), nextOf(sum));
  },
});

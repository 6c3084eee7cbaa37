/**
 * Draft batches: N drafts of one request spread over checkpoints (explore or quick), LoRA combinations and
 * the servers of a backend, run as a persistent job.
 *
 * - Planning writes the batch and one row per draft (checkpoint, LoRAs, seed) before anything runs, so the
 *   plan survives a restart.
 * - Running claims the job's lease (one process at a time), runs the drafts that are not done through the
 *   GPU pool (pool.ts), composes each image (correct logo + title) and stores it; a draft is done once its
 *   cover is stored, and the `done` guard in the drafts table keeps a late duplicate from counting twice.
 *   A failed attempt returns the draft to the queue. The job state lists the done drafts.
 * - A batch whose process died (lease lapsed) is resumed by `cover_batch {batch_id}`: only the drafts that
 *   are not done run again.
 * - At the end a PNG contact sheet labelled with checkpoint and LoRAs is stored with the batch.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../core/config.js';
import { LoraloopError, isLoraloopError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../store/index.js';
import type { BatchRecord, DraftLora, DraftRecord } from '../store/repos/generation.js';
import { loraComboKey } from '../store/repos/generation.js';
import { inferBaseModel } from './backends/comfyui/backend.js';
import { runPool, type PoolWorker } from './backends/pool.js';
import type { BackendName } from './backends/registry.js';
import type { BaseModel, GenerateRequest, GenerateResult } from './backends/types.js';
import {
  DEFAULT_TIER,
  allocate,
  expandAllocation,
  parseTiers,
  resolveTier,
  type ArmStats,
  type BatchMode,
} from './checkpoints.js';
import { cellSize, makeThumb, renderContactSheet } from './contact-sheet.js';
import { finishImage, generationSize, mapLoraFiles, planImage, type GenerateDeps, type ImagePlan, type PlanDeps } from './generate.js';
import type { MakeCoverDeps } from './local-cover.js';
import { createRng } from '../core/random.js';

/** What a batch is asked for. */
export interface BatchRequest {
  title?: string | undefined;
  subtitle?: string | undefined;
  prompt?: string | undefined;
  count: number;
  mode: BatchMode;
  backend: BackendName;
  tier?: string | undefined;
  loras?: Array<{ name: string; strength: number }> | undefined;
  width: number;
  height: number;
  seed?: number | undefined;
  style?: string | undefined;
}

/** A batch and where it stands. */
export interface BatchSummary {
  batch: BatchRecord;
  drafts: DraftRecord[];
  done: number;
  failed: number;
  pending: number;
  /** Images per server (over every run of the batch). */
  gpu_distribution: Record<string, number>;
  /** Drafts planned per checkpoint. */
  checkpoint_distribution: Record<string, number>;
  makespan_ms: number | null;
  warnings: string[];
}

/** Progress callback (drafts done of total). */
export type BatchProgress = (p: { done: number; total: number; message: string }) => void;

const JOB_KIND = 'cover_batch';

interface RunHandle {
  promise: Promise<BatchSummary>;
  abort: AbortController;
  listeners: Set<BatchProgress>;
}

/**
 * The batches one app runs in this process and the lease owner id they run under. createApp makes one per app
 * (Services.batches), so two apps in one process (tests, a server and a child) never share runs or leases.
 */
export interface BatchRunner {
  readonly owner: string;
  /** Runs in progress here, by batch id. */
  readonly runs: Map<string, RunHandle>;
}

export function createBatchRunner(): BatchRunner {
  return { owner: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`, runs: new Map() };
}

/** What planning a batch needs besides planning its image: checkpoint tiers, the backends, the batch tables. */
export type BatchPlanDeps = PlanDeps & {
  config: Pick<Config, 'checkpointTiers'>;
  backends: GenerateDeps['backends'];
  generationOptions: GenerateDeps['generationOptions'];
  store: Pick<Store, 'generation' | 'jobs'>;
};

/** What running a batch needs: planning, generation, composing each draft, the contact sheet's blob, and this app's runs. */
export type BatchDeps = BatchPlanDeps & GenerateDeps & MakeCoverDeps & { logger: Logger; batches: BatchRunner };

/** Summarise a batch from the store. */
export async function summarizeBatch(s: { store: Pick<Store, 'generation'> }, batchId: string): Promise<BatchSummary> {
  const batch = await s.store.generation.getBatch(batchId);
  if (!batch) throw new LoraloopError('NOT_FOUND', `No batch "${batchId}".`, { hint: 'Start one with cover_batch.' });
  const drafts = await s.store.generation.listDrafts(batchId);
  const gpu: Record<string, number> = {};
  const ckpt: Record<string, number> = {};
  for (const d of drafts) {
    if (d.status === 'done' && d.server) gpu[d.server] = (gpu[d.server] ?? 0) + 1;
    const k = d.checkpoint ?? '(none)';
    ckpt[k] = (ckpt[k] ?? 0) + 1;
  }
  const meta = batch.meta as { makespan_ms?: number; warnings?: string[] };
  return {
    batch,
    drafts,
    done: drafts.filter((d) => d.status === 'done').length,
    failed: drafts.filter((d) => d.status === 'failed').length,
    pending: drafts.filter((d) => d.status === 'pending').length,
    gpu_distribution: gpu,
    checkpoint_distribution: ckpt,
    makespan_ms: typeof meta.makespan_ms === 'number' ? meta.makespan_ms : null,
    warnings: Array.isArray(meta.warnings) ? meta.warnings : [],
  };
}

/** Arms with their persisted stats, in the given order. */
async function armsWithStats(s: { store: Pick<Store, 'generation'> }, kind: 'checkpoint' | 'lora_combo', scope: string | undefined, arms: string[]): Promise<ArmStats[]> {
  const rows = await s.store.generation.stats(kind, scope);
  return arms.map((arm) => {
    const hits = rows.filter((r) => r.arm === arm);
    return { arm, selected: hits.reduce((a, r) => a + r.selected, 0), total: hits.reduce((a, r) => a + r.total, 0) };
  });
}

/** LoRA combinations to try: all of them; in explore mode also the first alone and the first two. */
function loraCombos(loras: DraftLora[], mode: BatchMode): DraftLora[][] {
  if (loras.length <= 1 || mode === 'quick') return [loras];
  const combos = [loras, loras.slice(0, 1)];
  if (loras.length >= 3) combos.push(loras.slice(0, 2));
  return combos;
}

/** Plan a batch and persist it (batch row, drafts, job). Does not run it. */
export async function createBatch(s: BatchPlanDeps, req: BatchRequest): Promise<BatchSummary> {
  if (!Number.isInteger(req.count) || req.count < 1 || req.count > 200) {
    throw new LoraloopError('INVALID_INPUT', `count ${req.count} must be an integer in 1..200.`);
  }
  const warnings: string[] = [];
  const tiers = parseTiers(s.config.checkpointTiers);
  const tierName = req.backend === 'comfyui' ? (req.tier ?? DEFAULT_TIER) : null;
  let baseModel: BaseModel | undefined = req.backend === 'replicate' ? 'flux' : undefined;
  let checkpointArms: string[] = [];
  if (req.backend === 'comfyui') {
    // Workers first: names the variable when ComfyUI is not configured.
    s.backends.workers('comfyui');
    const available = await s.backends.comfyCheckpoints();
    if (available.length === 0) {
      throw new LoraloopError('UPSTREAM_UNREACHABLE', 'No ComfyUI server answered with its checkpoints.', {
        hint: 'Check the servers with backends_status.',
      });
    }
    const resolved = resolveTier(tierName ?? DEFAULT_TIER, tiers, available);
    baseModel = resolved.base_model;
    checkpointArms = resolved.checkpoints.map((c) => c.file);
    if (resolved.missing.length) warnings.push(`No server has ${resolved.missing.join(', ')} (tier ${resolved.tier}).`);
    if (checkpointArms.length === 0) {
      checkpointArms = available.filter((c) => inferBaseModel(c) === resolved.base_model).slice(0, 3);
      if (checkpointArms.length === 0) {
        throw new LoraloopError('NOT_FOUND', `The servers have none of the ${resolved.tier} checkpoints (${tiers[resolved.tier]?.checkpoints.join(', ')}) and no other ${resolved.base_model} checkpoint.`, {
          hint: `They have: ${available.join(', ')}. Set LORALOOP_CHECKPOINT_TIERS or choose another tier.`,
        });
      }
      warnings.push(`Used the servers' ${resolved.base_model} checkpoints ${checkpointArms.join(', ')} instead.`);
    }
  }
  const plan = await planImage(s, { ...req, baseModel, autoLora: req.loras === undefined });
  warnings.push(...plan.notes);

  const existing = (await s.store.generation.listBatches({ limit: 1000 })).length;
  const rng = createRng((s.generationOptions.seed ?? Date.now()) + existing * 7919);
  const ckptAlloc = checkpointArms.length ? allocate(await armsWithStats(s, 'checkpoint', '', checkpointArms), req.count, req.mode, { rng }) : [];
  const ckptList = ckptAlloc.length ? expandAllocation(ckptAlloc, 'blocks') : Array.from({ length: req.count }, () => null);

  const planned: DraftLora[] = plan.loras.map((l) => ({ name: l.name, strength: l.strength }));
  const combos = loraCombos(planned, req.mode);
  const comboByKey = new Map(combos.map((c) => [loraComboKey(c), c]));
  const comboAlloc = allocate(await armsWithStats(s, 'lora_combo', plan.scope, [...comboByKey.keys()]), req.count, req.mode, { rng: rng.fork('loras') });
  const comboList = expandAllocation(comboAlloc, 'round-robin');
  const baseSeed = req.seed ?? rng.int(0, 2 ** 31 - 1 - req.count);

  const jobId = `job_${randomBytes(12).toString('hex')}`;
  const batch = await s.store.generation.createBatch(
    {
      job_id: jobId,
      title: plan.title,
      subtitle: plan.subtitle,
      prompt: plan.prompt,
      negative_prompt: plan.negative_prompt,
      mode: req.mode,
      backend: req.backend,
      tier: tierName,
      scope: plan.scope,
      count: req.count,
      width: req.width,
      height: req.height,
      meta: {
        warnings,
        base_model: baseModel ?? null,
        style: req.style ?? null,
        raw: !plan.title,
        lora_sources: Object.fromEntries(plan.loras.map((l) => [l.name, l.source])),
        discovered: plan.discovered?.loras.map((d) => ({ name: d.name, strength: d.strength, evidence: d.evidence })) ?? [],
      },
    },
    Array.from({ length: req.count }, (_, i) => ({
      idx: i,
      checkpoint: ckptList[i] ?? null,
      loras: comboByKey.get(comboList[i] ?? '') ?? planned,
      seed: baseSeed + i,
    })),
  );
  await s.store.jobs.create({ id: jobId, kind: JOB_KIND, status: 'running', subject_id: batch.id, backend: req.backend, state: { batch_id: batch.id, done: [] } });
  return summarizeBatch(s, batch.id);
}

/**
 * Compose one generated draft into its cover (logo and title, or the raw image) and store it: what both the
 * in-process run and a queue worker do with a server's answer. The checkpoint is the one the server reports.
 */
export async function composeDraft(
  s: MakeCoverDeps & PlanDeps,
  batch: BatchRecord,
  plan: ImagePlan,
  d: DraftRecord,
  server: string,
  result: GenerateResult,
): Promise<{ finished: Awaited<ReturnType<typeof finishImage>>; ckpt: string | null }> {
  const image = result.images[0];
  if (!image) throw new LoraloopError('JOB_FAILED', `${server} returned no image for draft #${d.idx + 1}.`);
  const ckpt = typeof image.meta.checkpoint === 'string' ? image.meta.checkpoint : d.checkpoint;
  const finished = await finishImage(s, {
    plan,
    png: image.png,
    raw: !batch.title,
    width: batch.width,
    height: batch.height,
    seed: d.seed,
    backend: batch.backend,
    checkpoint: ckpt,
    loras: d.loras,
    batch_id: batch.id,
    style: (batch.meta as { style?: string | null }).style ?? undefined,
    meta: { draft: d.idx, server, generation: image.meta, backend_warnings: result.warnings },
  });
  return { finished, ckpt };
}

/** What the image model is asked for one draft: the batch's prompt with the draft's seed, checkpoint and LoRAs. */
export function draftRequest(
  batch: BatchRecord,
  d: DraftRecord,
  o: { size: { width: number; height: number }; baseModel: BaseModel | undefined; loras: DraftLora[]; signal: AbortSignal },
): GenerateRequest {
  const style = (batch.meta as { style?: string | null }).style;
  return {
    prompt: batch.prompt,
    ...(batch.negative_prompt ? { negativePrompt: batch.negative_prompt } : {}),
    width: o.size.width,
    height: o.size.height,
    seed: d.seed,
    ...(d.checkpoint ? { checkpoint: d.checkpoint } : {}),
    ...(o.baseModel ? { baseModel: o.baseModel } : {}),
    loras: o.loras,
    abortSignal: o.signal,
    ...(batch.backend === 'local' && style ? { providerOptions: { local: { style } } } : {}),
  };
}

/** The plan of a stored batch, rebuilt for running (routing again is cheap and deterministic). */
export async function planOf(s: PlanDeps, b: BatchRecord): Promise<ImagePlan> {
  const base = await planImage(s, {
    title: b.title ?? undefined,
    subtitle: b.subtitle ?? undefined,
    prompt: b.title ? undefined : b.prompt,
    backend: 'local',
  });
  return { ...base, prompt: b.prompt, negative_prompt: b.negative_prompt ?? base.negative_prompt, scope: b.scope };
}

/**
 * Run (or resume) a batch in this process and resolve with its summary. A second call for a batch this
 * process already runs joins the first. LEASE_HELD when another live process runs it.
 */
export function runBatch(s: BatchDeps, batchId: string, progress?: BatchProgress): Promise<BatchSummary> {
  const runs = s.batches.runs;
  const current = runs.get(batchId);
  if (current) {
    if (progress) current.listeners.add(progress);
    return current.promise;
  }
  const handle: RunHandle = { abort: new AbortController(), listeners: new Set(progress ? [progress] : []), promise: Promise.resolve(undefined as unknown as BatchSummary) };
  handle.promise = execute(s, batchId, handle).finally(() => runs.delete(batchId));
  runs.set(batchId, handle);
  return handle.promise;
}

/** True while this process runs the batch. */
export function isRunningHere(s: { batches: BatchRunner }, batchId: string): boolean {
  return s.batches.runs.has(batchId);
}

/** Stop every batch this process runs (app shutdown): in-flight images are canceled, drafts stay resumable. */
export async function stopBatches(s: { batches: BatchRunner }): Promise<void> {
  const runs = [...s.batches.runs.values()];
  for (const r of runs) r.abort.abort();
  await Promise.allSettled(runs.map((r) => r.promise));
}

async function execute(s: BatchDeps, batchId: string, handle: RunHandle): Promise<BatchSummary> {
  const gen = s.store.generation;
  const batch = await gen.getBatch(batchId);
  if (!batch) throw new LoraloopError('NOT_FOUND', `No batch "${batchId}".`);
  const jobId = batch.job_id;
  const owner = s.batches.owner;
  const leaseMs = s.generationOptions.leaseMs ?? 60_000;
  if (jobId && !(await s.store.jobs.claim(jobId, owner, leaseMs))) {
    throw new LoraloopError('LEASE_HELD', `Batch ${batchId} is being run by another process.`, {
      hint: 'Call cover_batch with this batch_id later to see its progress.',
    });
  }
  const log = s.logger.child({ batch: batchId });
  const renew = (): void => {
    if (jobId) s.store.jobs.claim(jobId, owner, leaseMs).catch((e: unknown) => log.warn('could not renew the batch claim', { error: String(e) }));
  };
  const heartbeat = jobId ? setInterval(renew, Math.max(1000, leaseMs / 3)) : undefined;
  heartbeat?.unref();
  const started = Date.now();
  try {
    if (batch.status !== 'running') await gen.updateBatch(batchId, { status: 'running' });
    const plan = await planOf(s, batch);
    const meta = batch.meta as { base_model?: BaseModel | null; style?: string | null; warnings?: string[] };
    const baseModel = meta.base_model ?? undefined;
    const backend = batch.backend as BackendName;
    const workers: PoolWorker[] = s.backends.workers(backend);
    // LoRA names as the servers spell them (registry names -> server files).
    let serverLoras: string[] = [];
    if (backend === 'comfyui') {
      const lists = await Promise.all(s.backends.comfy.map((c) => c.backend.client.listLoras().catch(() => [] as string[])));
      serverLoras = [...new Set(lists.flat())];
    }
    const size = generationSize(backend === 'local' ? 'local' : (baseModel ?? 'sd15'), batch.width, batch.height);
    const all = await gen.listDrafts(batchId);
    const todo = all.filter((d) => d.status !== 'done');
    let done = all.length - todo.length;
    const total = all.length;
    const emit = (message: string): void => {
      for (const l of handle.listeners) {
        try {
          l({ done, total, message });
        } catch {
          // a face's progress callback must not break the batch
        }
      }
    };
    emit(`${done}/${total} drafts done`);

    // Contact-sheet thumbnails are made as drafts land, overlapping the GPU work; drafts finished by an earlier
    // run are read at the end.
    const cell = cellSize(batch.height / batch.width);
    const thumbs = new Map<number, Promise<Buffer | null>>();
    const report = await runPool<DraftRecord, GenerateResult>(workers, todo, {
      ...(s.generationOptions.pool ?? {}),
      signal: handle.abort.signal,
      key: (d) => `#${d.idx}`,
      run: async (worker, d, signal) => {
        await gen.noteAttempt(d.id);
        const loras = backend === 'comfyui' ? mapLoraFiles(d.loras, serverLoras) : d.loras;
        return worker.backend.generate(draftRequest(batch, d, { size, baseModel, loras, signal }));
      },
      deliver: async (d, worker, result, ms) => {
        const { finished, ckpt } = await composeDraft(s, batch, plan, d, worker.id, result);
        const first = await gen.markDone(d.id, { server: worker.id, cover_id: finished.record.id, blob_path: finished.record.blob_path, elapsed_ms: ms, checkpoint: ckpt });
        if (!first) {
          log.warn('draft delivered twice; the second copy was dropped', { draft: d.idx, server: worker.id });
          return;
        }
        thumbs.set(d.idx, draftImage(s, finished.record).then((b) => (b ? makeThumb(b, cell.cw, cell.ch) : null), () => null));
        done += 1;
        if (jobId) {
          const doneIdx = (await gen.listDrafts(batchId)).filter((x) => x.status === 'done').map((x) => x.idx);
          await s.store.jobs.update(jobId, { progress: done / total, state: { done: doneIdx } });
        }
        emit(`draft #${d.idx + 1} from ${worker.id} (${Math.round(ms)} ms)`);
      },
      onAttemptFailed: (d, worker, e, retry) => {
        const msg = isLoraloopError(e) ? e.message : e instanceof Error ? e.message : String(e);
        log.warn('draft attempt failed', { draft: d.idx, server: worker.id, retry, error: msg });
        // The pool does not wait for this hook; the store runs the write in order with the ones after it.
        gen.noteError(d.id, msg).catch((err: unknown) => log.warn('could not record a draft error', { draft: d.idx, error: String(err) }));
      },
    });
    const poolMs = Date.now() - started;
    const canceled = handle.abort.signal.aborted;
    const warnings = [...(meta.warnings ?? [])];
    for (const o of report.outcomes) {
      if (o.status === 'failed' && !canceled) {
        await gen.markFailed(o.task.id, o.error ?? 'failed');
        warnings.push(`Draft #${o.task.idx + 1} failed after ${o.attempts} attempt(s): ${o.error ?? 'unknown error'}.`);
      }
    }
    await settleBatch(s, batch, { canceled, warnings, started, extra: { pool_ms: poolMs, workers: report.workers }, thumbs });
    return await summarizeBatch(s, batchId);
  } finally {
    if (heartbeat) clearInterval(heartbeat);
    if (jobId) await s.store.jobs.release(jobId, owner);
  }
}

/**
 * Close a batch whose drafts have all ended (or whose run was canceled): the contact sheet, the batch's status
 * and its job's. The in-process run calls it at the end of its pool; on the queue, the worker that settles the
 * last draft does. Running it twice gives the same result (the sheet is content-addressed).
 */
export async function settleBatch(
  s: { store: Pick<Store, 'generation' | 'jobs' | 'blobs'> },
  batch: BatchRecord,
  o: { canceled: boolean; warnings: string[]; started: number; extra?: Record<string, unknown>; thumbs?: Map<number, Promise<Buffer | null>> },
): Promise<void> {
  const gen = s.store.generation;
  const batchId = batch.id;
  const jobId = batch.job_id;
  const backend = batch.backend;
  const { canceled, warnings, started } = o;
  const thumbs = o.thumbs ?? new Map<number, Promise<Buffer | null>>();
  const total = batch.count;
  const after = await gen.listDrafts(batchId);
  const doneNow = after.filter((d) => d.status === 'done');
  let sheet: { sha256: string; path: string } | null = null;
  if (!canceled && doneNow.length > 0) {
    const items = await Promise.all(
      after.map(async (d) => {
        const thumb = (await thumbs.get(d.idx)) ?? (d.thumb_sha256 ? await s.store.blobs.read({ sha256: d.thumb_sha256, ext: 'rgb' }).catch(() => null) : null);
        return {
          image: thumb ? null : await draftImage(s, d),
          thumb,
          lines: [
            `#${d.idx + 1} ${d.checkpoint ?? backend}${d.server && backend === 'comfyui' ? ` @${shortServer(d.server)}` : ''}`,
            d.loras.length ? d.loras.map((l) => `${l.name} ${l.strength}`).join(' + ') : 'no LoRA',
          ],
        };
      }),
    );
    const png = await renderContactSheet(items, {
      aspect: batch.height / batch.width,
      heading: `${batch.title ?? batch.prompt} - ${doneNow.length}/${after.length} drafts, ${batch.mode}`,
    });
    sheet = await s.store.blobs.put(png, 'png');
  }
  const status: BatchRecord['status'] = canceled ? 'running' : doneNow.length === 0 ? 'failed' : 'done';
  await gen.updateBatch(batchId, {
    status,
    ...(sheet ? { contact_sheet_path: sheet.path, contact_sheet_sha256: sheet.sha256 } : {}),
    meta: { ...batch.meta, warnings: [...new Set(warnings)], makespan_ms: Date.now() - started, ...(o.extra ?? {}) },
  });
  if (jobId && !canceled) {
    await s.store.jobs.update(jobId, {
      status: status === 'done' ? 'succeeded' : 'failed',
      progress: doneNow.length / total,
      error: status === 'failed' ? (warnings[warnings.length - 1] ?? 'no draft could be made') : null,
      state: { done: doneNow.map((d) => d.idx) },
    });
  }
}

/** A done draft's image, read by its hash (so any host can read it), or null when it has none. */
export async function draftImage(s: { store: Pick<Store, 'blobs'> }, d: Pick<DraftRecord, 'blob_path'>): Promise<Buffer | null> {
  const ref = d.blob_path ? blobRefOfPath(d.blob_path) : null;
  if (!ref) return null;
  return s.store.blobs.read(ref).catch(() => null);
}

/** `<home>/blobs/ab/<sha256>.<ext>` -> its hash and extension: the blob store's own naming. */
function blobRefOfPath(path: string): { sha256: string; ext: string } | null {
  const m = /([0-9a-f]{64})\.([a-z0-9]{1,12})$/.exec(path);
  return m ? { sha256: m[1] as string, ext: m[2] as string } : null;
}

function shortServer(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}

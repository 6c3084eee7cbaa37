/**
 * The drafts of a batch as jobs on the cluster's queue (LORALOOP_QUEUE=pg-boss): one job per draft, keyed by
 * the draft's id, so enqueueing a batch again (a resume, a retried call) never doubles a draft. Workers run
 * them (slots.ts); this file is what runs one: generate on the server whose slot the worker holds, compose the
 * cover, and record the draft done together with the job's completion.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Config } from '../../core/config.js';
import { LoraloopError, isLoraloopError } from '../../core/errors.js';
import type { Store } from '../../store/index.js';
import type { JobQueue, QueueJob, QueueSpec } from '../../store/queue/index.js';
import type { BatchRecord, DraftRecord } from '../../store/repos/generation.js';
import { refusesTask, type PoolWorker } from '../backends/pool.js';
import type { BackendName } from '../backends/registry.js';
import type { BaseModel, GenerateResult } from '../backends/types.js';
import { composeDraft, draftImage, draftRequest, planOf, settleBatch, type BatchDeps } from '../batch.js';
import { cellSize, makeThumb } from '../contact-sheet.js';
import { generationSize, mapLoraFiles, type ImagePlan } from '../generate.js';

/** Attempts a draft gets, each on some server (the in-process pool's default too). */
export const MAX_DRAFT_ATTEMPTS = 4;

/** One queue per backend, so a worker's slot only takes drafts its server can run. */
export function draftQueue(backend: string): QueueSpec {
  // A draft is a few seconds to a few minutes of GPU; a worker that stops touching it for 10 s is gone.
  // pg-boss counts every claim, and a slot handing back a draft its server refused before is a claim too, so
  // the queue allows many; the draft's own attempts (MAX_DRAFT_ATTEMPTS) are counted in the drafts table.
  return { name: `loraloop.drafts.${backend}`, retryLimit: 24, heartbeatSeconds: 10, expireInSeconds: 3600 };
}

export interface DraftJob {
  batch_id: string;
  draft_id: string;
}

export type QueueBatchDeps = BatchDeps & { queue: JobQueue; store: Store; config: Pick<Config, 'comfyuiUrls' | 'replicate' | 'checkpointTiers'> };

/** Put every draft of the batch that is not done on the queue (again): drafts already queued are not doubled. */
export async function enqueueDrafts(s: QueueBatchDeps, batchId: string): Promise<number> {
  const batch = await s.store.generation.getBatch(batchId);
  if (!batch) throw new LoraloopError('NOT_FOUND', `No batch "${batchId}".`);
  const todo = (await s.store.generation.listDrafts(batchId)).filter((d) => d.status === 'pending');
  const q = draftQueue(batch.backend);
  // Keyed by the draft: a draft that is queued, running or waiting for a retry is never sent twice, however
  // often the batch is reported on or resumed.
  return s.queue.sendMany<DraftJob>(q, todo.map((d) => ({ data: { batch_id: batchId, draft_id: d.id }, key: d.id })));
}

/** What running a batch's drafts needs once per batch: its plan, size and the servers' LoRA names. */
interface BatchRun {
  batch: BatchRecord;
  plan: ImagePlan;
  size: { width: number; height: number };
  baseModel: BaseModel | undefined;
  serverLoras: string[];
}

/** A worker's memory of the batches it runs drafts of (one plan per batch, not one per draft). */
export function createBatchCache(s: QueueBatchDeps): (batchId: string) => Promise<BatchRun> {
  const cache = new Map<string, Promise<BatchRun>>();
  return (batchId) => {
    let c = cache.get(batchId);
    if (!c) {
      c = load(s, batchId);
      cache.set(batchId, c);
      c.catch(() => cache.delete(batchId));
      // Bounded: the oldest batch goes first.
      if (cache.size > 64) cache.delete(cache.keys().next().value as string);
    }
    return c;
  };
}

async function load(s: QueueBatchDeps, batchId: string): Promise<BatchRun> {
  const batch = await s.store.generation.getBatch(batchId);
  if (!batch) throw new LoraloopError('NOT_FOUND', `No batch "${batchId}".`);
  const plan = await planOf(s, batch);
  const meta = batch.meta as { base_model?: BaseModel | null };
  const baseModel = meta.base_model ?? undefined;
  let serverLoras: string[] = [];
  if (batch.backend === 'comfyui') {
    const lists = await Promise.all(s.backends.comfy.map((c) => c.backend.client.listLoras().catch(() => [] as string[])));
    serverLoras = [...new Set(lists.flat())];
  }
  const size = generationSize(batch.backend === 'local' ? 'local' : (baseModel ?? 'sd15'), batch.width, batch.height);
  return { batch, plan, size, baseModel, serverLoras };
}

/** What became of one attempt at a draft, for the slot that ran it ('declined': its server refused it before). */
export type DraftOutcome = { kind: 'done'; ms: number } | { kind: 'skipped' } | { kind: 'declined' } | { kind: 'failed'; error: unknown; final: boolean };

/** The server whose slot runs a draft, and the ids of every server of its backend (for refusals). */
export interface DraftServer {
  worker: PoolWorker;
  peers: readonly string[];
}

/**
 * Run one draft job on `at.worker` (the server whose slot the caller holds). Generation happens here; the
 * cover is composed and stored by `deliver`, which the caller may run while the slot takes its next draft. A
 * draft this server refused before is handed back for the other servers, as the in-process pool does.
 */
export async function generateDraft(
  s: QueueBatchDeps,
  batches: (id: string) => Promise<BatchRun>,
  at: DraftServer,
  job: QueueJob<DraftJob>,
  signal: AbortSignal,
): Promise<{ outcome: DraftOutcome; deliver?: () => Promise<DraftOutcome> }> {
  const gen = s.store.generation;
  const { worker } = at;
  const d = await gen.getDraft(job.data.draft_id);
  if (!d || d.status !== 'pending') {
    await s.queue.complete(job);
    return { outcome: { kind: 'skipped' } };
  }
  if (d.refused_by.includes(worker.id)) {
    if (at.peers.every((p) => d.refused_by.includes(p))) return { outcome: await giveUp(s, job, d, `every server refused it; the last said: ${d.error ?? 'no reason'}`) };
    // Handing back costs the queue a claim, not the draft an attempt; once the claims are spent it runs here.
    if (job.retryCount < job.queue.retryLimit) {
      await s.queue.fail(job, `${worker.id} refused this draft before; left to the other servers`);
      return { outcome: { kind: 'declined' } };
    }
  }
  const run = await batches(job.data.batch_id);
  const { batch, size, baseModel } = run;
  const backend = batch.backend as BackendName;
  await gen.noteAttempt(d.id);
  const started = Date.now();
  let result: GenerateResult;
  try {
    const loras = backend === 'comfyui' ? mapLoraFiles(d.loras, run.serverLoras) : d.loras;
    result = await worker.backend.generate(draftRequest(batch, d, { size, baseModel, loras, signal }));
  } catch (e) {
    return { outcome: await failed(s, job, d, at, e) };
  }
  const ms = Date.now() - started;
  return { outcome: { kind: 'done', ms }, deliver: () => deliver(s, run, at, job, d, result, ms) };
}

async function deliver(s: QueueBatchDeps, run: BatchRun, at: DraftServer, job: QueueJob<DraftJob>, d: DraftRecord, result: GenerateResult, ms: number): Promise<DraftOutcome> {
  const { batch, plan } = run;
  const { worker } = at;
  try {
    const { finished, ckpt } = await composeDraft(s, batch, plan, d, worker.id, result);
    // The sheet's thumbnail now, while the image is at hand: the worker that settles the batch then composes
    // the sheet from small blobs instead of decoding every draft at the end.
    const thumb = await thumbnail(s, batch, finished.record);
    // The draft is done exactly when its job is: a worker whose attempt lapsed (another has the job now)
    // records nothing, so a draft is delivered once.
    const recorded = await s.store.transaction(async (tx) => {
      const first = await tx.generation.markDone(d.id, { server: worker.id, cover_id: finished.record.id, blob_path: finished.record.blob_path, elapsed_ms: ms, checkpoint: ckpt, thumb_sha256: thumb });
      if (!first) return false;
      if (!(await s.queue.complete(job, { cover_id: finished.record.id }, tx))) throw new LapsedDraft();
      return true;
    });
    if (!recorded) await s.queue.complete(job);
  } catch (e) {
    if (e instanceof LapsedDraft) {
      s.logger.warn('draft attempt lapsed (another worker has it now); its image was not recorded', { draft: d.idx, batch: batch.id });
      return { kind: 'skipped' };
    }
    return failed(s, job, d, at, e);
  }
  await afterDraft(s, batch.id);
  return { kind: 'done', ms };
}

class LapsedDraft extends Error {}

async function thumbnail(s: QueueBatchDeps, batch: BatchRecord, cover: { blob_path: string }): Promise<string | null> {
  const image = await draftImage(s, cover);
  if (!image) return null;
  const cell = cellSize(batch.height / batch.width);
  const small = await makeThumb(image, cell.cw, cell.ch);
  // Raw RGB of the cell's size, as the sheet takes it (not an image file).
  return small ? (await s.store.blobs.put(small, 'rgb')).sha256 : null;
}

/**
 * A failed attempt: the queue retries it until the draft's last attempt, which gives it up. A server that
 * refused it for a reason of its own (it lacks the checkpoint) is remembered on the draft, and the retry goes to
 * another server; when every server refused it, it is given up at once.
 */
async function failed(s: QueueBatchDeps, job: QueueJob<DraftJob>, d: DraftRecord, at: DraftServer, e: unknown): Promise<DraftOutcome> {
  const msg = isLoraloopError(e) ? e.message : e instanceof Error ? e.message : String(e);
  const now = refusesTask(e) ? await s.store.generation.noteRefusal(d.id, at.worker.id, msg) : undefined;
  const everyone = now !== undefined && at.peers.every((p) => now.refused_by.includes(p));
  // d was read before this attempt was counted: this is attempt d.attempts + 1.
  const final = everyone || d.attempts + 1 >= MAX_DRAFT_ATTEMPTS || job.retryCount >= job.queue.retryLimit;
  s.logger.warn('draft attempt failed', { draft: d.idx, batch: d.batch_id, server: at.worker.id, attempt: d.attempts + 1, final, refused: now !== undefined, error: msg });
  if (final) return giveUp(s, job, d, everyone ? `every server refused it; the last said: ${msg}` : msg, e);
  if (!now) await s.store.generation.noteError(d.id, msg);
  await s.queue.fail(job, msg);
  return { kind: 'failed', error: e, final };
}

/**
 * The draft's last attempt failed: it is failed for good, and its job done. Without an error of its own, the
 * reason is the servers' refusal, which says nothing about the server whose slot holds it (no probing).
 */
async function giveUp(s: QueueBatchDeps, job: QueueJob<DraftJob>, d: DraftRecord, msg: string, e: unknown = new LoraloopError('INVALID_INPUT', msg)): Promise<DraftOutcome> {
  await s.store.generation.markFailed(d.id, msg);
  await s.queue.complete(job, { failed: msg });
  await afterDraft(s, d.batch_id);
  return { kind: 'failed', error: e, final: true };
}

/** Progress of the batch's job, and the batch settled once no draft is pending. */
async function afterDraft(s: QueueBatchDeps, batchId: string): Promise<void> {
  const drafts = await s.store.generation.listDrafts(batchId);
  const done = drafts.filter((x) => x.status === 'done');
  const batch = await s.store.generation.getBatch(batchId);
  if (!batch) return;
  if (batch.job_id) await s.store.jobs.update(batch.job_id, { progress: done.length / drafts.length, state: { done: done.map((x) => x.idx) } });
  if (drafts.some((x) => x.status === 'pending') || batch.status !== 'running') return;
  const failures = drafts.filter((x) => x.status === 'failed').map((x) => `Draft #${x.idx + 1} failed: ${x.error ?? 'unknown error'}.`);
  const meta = batch.meta as { warnings?: string[]; queued_at?: number };
  // Two workers storing the last two drafts at once both get here: the batch job's lease lets one make the
  // sheet (a few seconds of CPU for 200 drafts) and the other go on.
  const settler = `${SETTLER}:${randomBytes(4).toString('hex')}`; // unique per call: a claim accepts its own owner
  if (batch.job_id && !(await s.store.jobs.claim(batch.job_id, settler, 120_000))) return;
  try {
    await settleBatch(s, batch, { canceled: false, warnings: [...(meta.warnings ?? []), ...failures], started: meta.queued_at ?? Date.parse(batch.created_at) });
  } finally {
    if (batch.job_id) await s.store.jobs.release(batch.job_id, settler);
  }
}

/** This process as the holder of a batch job's lease while it settles the batch. */
const SETTLER = `${hostname()}:${process.pid}:settle`;

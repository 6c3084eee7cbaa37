/**
 * Training on Replicate (ostris/flux-dev-lora-trainer, TRAINERS.md §3a) as a resumable job:
 *
 * 1. build the zip (trigger word first in every caption) and upload it through the files API; the file URL
 *    is stored in the job at once;
 * 2. create the training with autocaption=false and the trigger word, and store the remote id in the job
 *    before anything else can fail;
 * 3. follow it by polling (and by webhook when a receiver is configured), reading step and loss from logs;
 * 4. on success download the weights tar, take out lora.safetensors, inspect it and register it as the
 *    next version with remote_version = output.version.
 *
 * Exactly one remote training per job, ever: the uploaded file URL is unique to the job and is what the
 * training's `input.input_images` holds, so before any (re-)create, a job that may already have sent one
 * (the answer was lost, or the process died mid-request) looks for its training in `trainings.list`
 * (same destination, same input_images, or our job id in the webhook query) and adopts it.
 */
import type Replicate from 'replicate';
import { LoraloopError, isLoraloopError } from '../../core/errors.js';
import { createSafeFetcher } from '../../core/net.js';
import { createRetryingFetch } from '../../core/retry.js';
import { verifyWebhook, type WebhookHeaders } from '../../core/webhook.js';
import { buildReplicateZip } from '../../dataset/export.js';
import type { FollowContext, TrainingDeps, TrainingDriver } from '../training/driver.js';
import {
  estimateEta,
  getTrainingJob,
  isTerminalTraining,
  listTrainingJobs,
  lossFields,
  overallProgress,
  patchJob,
  type TrainingJob,
  type TrainingJobState,
} from '../training/job.js';
import { cancelTrainingRecord, completeTraining, failTraining } from '../training/outcome.js';
import { extractLoraFromTar } from '../training/tar.js';
import { createSchemaChecker } from '../../clients/replicate-schema.js';
import {
  createReplicateClient,
  isTerminal,
  parseModelRef,
  parseTrainingProgress,
  replicateFileSchema,
  replicateTrainingSchema,
  type ReplicateTraining,
} from '../../clients/replicate.js';

/** Largest weights archive we download (FLUX rank-128 LoRAs are ~700 MB). */
const MAX_WEIGHTS_BYTES = 1536 * 1024 * 1024;
/** How many times a lost trainings.create answer is followed by a look-up and, if nothing is found, a re-create. */
const MAX_CREATE_ATTEMPTS = 3;
/** Pages of trainings.list searched for a training whose answer was lost. */
const MAX_LIST_PAGES = 5;

/** The official client over our retrying fetch, configured from the app's services (the token loads lazily). */
export function trainingClient(services: TrainingDeps, signal?: AbortSignal): Replicate {
  const log = services.logger.child({ component: 'replicate-trainer' });
  return createReplicateClient({
    baseUrl: services.config.replicate.baseUrl,
    apiKey: () => services.config.replicate.apiToken,
    fetch: services.fetch,
    now: () => services.now().getTime(),
    retry: {
      ...(signal ? { signal } : {}),
      onRetry: (i) => log.warn('Replicate request retried', { attempt: i.attempt, delay_ms: i.delayMs, status: i.status, from_server: i.fromServer }),
    },
  });
}

/** The error text of a failed training, as the backend gave it. */
export function replicateErrorText(t: ReplicateTraining): string {
  const e = t.error;
  if (typeof e === 'string' && e.trim()) return e.trim();
  if (e && typeof e === 'object') return JSON.stringify(e);
  const lines = (t.logs ?? '').split(/[\r\n]+/).map((l) => l.trim()).filter(Boolean);
  const last = [...lines].reverse().find((l) => /error|exception/i.test(l));
  return last ?? `Replicate reported the training as ${t.status} without an error message.`;
}

function tail(text: string | null | undefined, lines = 20): string {
  return (text ?? '').split(/\r?\n/).slice(-lines).join('\n').slice(-4000);
}

/**
 * Apply what Replicate says about a training to its job (from a poll or a webhook). Idempotent; ignores
 * anything once the job ended, and non-terminal news once a terminal status was seen (webhooks can arrive
 * out of order). Failed/canceled/aborted end the job here; success is recorded and left to the follower,
 * which downloads and registers the weights. Returns the job as updated, or undefined when ignored.
 */
export async function applyRemoteTraining(services: TrainingDeps, jobId: string, training: ReplicateTraining): Promise<TrainingJob | undefined> {
  const job = await getTrainingJob(services, jobId);
  if (!job || isTerminalTraining(job.status)) return undefined;
  const rep = job.state.replicate;
  if (rep?.remote_status && isTerminal(rep.remote_status) && !isTerminal(training.status)) return undefined;
  const nowMs = services.now().getTime();
  const prog = parseTrainingProgress(training.logs ?? '');
  const statePatch: Partial<TrainingJobState> = {
    replicate: {
      ...(rep ?? { trainer: services.config.replicate.trainer, destination: services.config.replicate.destination ?? '' }),
      remote_status: training.status,
      logs_tail: tail(training.logs),
      ...(training.output?.version ? { output_version: training.output.version } : {}),
      ...(training.output?.weights ? { weights_url: training.output.weights } : {}),
    },
  };
  let progress: number | undefined;
  if (prog) {
    const anchor = job.state.rate_anchor ?? { at: new Date(nowMs).toISOString(), step: prog.step };
    Object.assign(statePatch, {
      step: prog.step,
      total_steps: prog.total,
      ...lossFields(prog.loss),
      rate_anchor: anchor,
      eta_seconds: estimateEta(anchor, prog.step, prog.total, nowMs, null),
    });
    progress = overallProgress(job.state, prog.step, prog.total);
  }
  if (training.status === 'processing' && !job.state.started_at) statePatch.started_at = training.started_at ?? new Date(nowMs).toISOString();
  if (training.status === 'processing' || training.status === 'succeeded') statePatch.phase = training.status === 'succeeded' ? 'downloading' : 'running';
  const updated = await patchJob(services, jobId, {
    ...(training.status === 'processing' || training.status === 'succeeded' ? { status: 'training' as const } : {}),
    ...(progress !== undefined ? { progress } : {}),
    state: statePatch,
  });
  if (training.status === 'failed' || training.status === 'aborted') {
    const text = replicateErrorText(training);
    return failTraining(services, jobId, training.status === 'aborted' ? `Replicate aborted the training before it started: ${text}` : text);
  }
  if (training.status === 'canceled') return cancelTrainingRecord(services, jobId, 'The training was canceled on Replicate.');
  return updated;
}

/** The input we send: the trainer's own fields only (TRAINERS.md §3a). */
function trainingInput(job: TrainingJob, fileUrl: string, triggerWord: string): Record<string, unknown> {
  return { ...job.state.params, input_images: fileUrl, trigger_word: triggerWord, autocaption: false };
}

function webhookFor(job: TrainingJob, base: string | undefined): string | undefined {
  if (!base) return undefined;
  const u = new URL(base);
  u.searchParams.set('job_id', job.id);
  return u.toString();
}

/** Look for this job's training among the account's trainings (newest first). */
async function findExistingTraining(client: Replicate, job: TrainingJob, signal: AbortSignal): Promise<ReplicateTraining | undefined> {
  const rep = job.state.replicate;
  if (!rep?.input_file_url) return undefined;
  let pages = 0;
  for await (const page of client.paginate(() => client.trainings.list({ signal }), { signal })) {
    for (const raw of page) {
      const parsed = replicateTrainingSchema.safeParse(raw);
      if (!parsed.success) continue;
      const t = parsed.data;
      const dest = (t as { destination?: unknown }).destination;
      if (typeof dest === 'string' && dest !== rep.destination) continue;
      const hook = (t as { webhook?: unknown }).webhook;
      const hookJob = typeof hook === 'string' ? safeQuery(hook, 'job_id') : undefined;
      if (t.input?.['input_images'] === rep.input_file_url || hookJob === job.id) return t;
    }
    if (++pages >= MAX_LIST_PAGES) break;
  }
  return undefined;
}

function safeQuery(url: string, key: string): string | undefined {
  try {
    return new URL(url).searchParams.get(key) ?? undefined;
  } catch {
    return undefined;
  }
}

/** An error after which a training may or may not exist remotely (the answer was lost or the server broke). */
function outcomeUnknown(e: unknown): boolean {
  if (isLoraloopError(e)) return e.code === 'UPSTREAM_UNREACHABLE' || e.code === 'UPSTREAM_ERROR' || e.code === 'TIMEOUT';
  const status = (e as { response?: { status?: unknown } }).response?.status;
  return typeof status === 'number' ? status >= 500 : !(e instanceof LoraloopError);
}

/**
 * Take over a training found remotely: store its id first, then its state. If the job was canceled
 * meanwhile, the training is canceled too (nobody would follow it). Undefined when the job ended.
 */
async function adopt(services: TrainingDeps, client: Replicate, job: TrainingJob, t: ReplicateTraining): Promise<TrainingJob | undefined> {
  await services.store.jobs.update(job.id, { remote_id: t.id });
  if (await jobGone(services, job.id)) {
    if (!isTerminal(t.status)) await client.trainings.cancel(t.id).catch(() => undefined);
    return undefined;
  }
  await applyRemoteTraining(services, job.id, t);
  return getTrainingJob(services, job.id);
}

/** Upload (once) and create (once): returns the job with its remote id, or undefined if it ended meanwhile. */
async function submit(job: TrainingJob, client: Replicate, ctx: FollowContext): Promise<TrainingJob | undefined> {
  const { services } = ctx;
  const lora = await services.store.loras.get(job.state.lora_id);
  if (!lora) throw new LoraloopError('NOT_FOUND', `The LoRA project ${job.state.lora_id} no longer exists.`);
  let cur = job;
  const rep = () => cur.state.replicate as NonNullable<TrainingJobState['replicate']>;

  // A create may have been sent by an earlier process: adopt its training instead of creating another.
  if (rep().submit_started_at) {
    const found = await findExistingTraining(client, cur, ctx.signal);
    if (found) {
      ctx.logger.info('adopted the training an earlier attempt created', { remote_id: found.id });
      return adopt(services, client, cur, found);
    }
  }

  if (!rep().input_file_url) {
    cur = (await patchJob(services, cur.id, { state: { phase: 'preparing' } })) ?? cur;
    const { zip, images, warnings } = await buildReplicateZip(services, lora.id);
    if (await jobGone(services, cur.id)) return undefined;
    cur = (await patchJob(services, cur.id, { state: { phase: 'uploading', warnings: [...new Set([...cur.state.warnings, ...warnings])] } })) ?? cur;
    const file = replicateFileSchema.parse(
      await client.files.create(new File([new Uint8Array(zip)], `${cur.id}.zip`, { type: 'application/zip' }), {
        loraloop_job_id: cur.id,
        lora: lora.name,
        images,
      }, { signal: ctx.signal }),
    );
    const next = await patchJob(services, cur.id, { state: { replicate: { ...rep(), input_file_url: file.urls.get } } });
    if (!next) return undefined;
    cur = next;
  }

  const ref = parseModelRef(rep().trainer);
  if (!ref.version) {
    throw new LoraloopError('CONFIG_INVALID', `LORALOOP_REPLICATE_TRAINER "${rep().trainer}" has no version.`, {
      hint: 'Use owner/model:version, e.g. ostris/flux-dev-lora-trainer:<64-hex version id>.',
    });
  }
  const webhook = webhookFor(cur, ctx.options.webhookUrl);
  // The pinned trainer version's own schema (TRAINERS.md §3a: the live version may differ from the source we read).
  await createSchemaChecker(client, ctx.logger).check(ref, 'TrainingInput', trainingInput(cur, rep().input_file_url as string, lora.trigger_word));
  for (let attempt = 1; attempt <= MAX_CREATE_ATTEMPTS; attempt++) {
    if (await jobGone(services, cur.id)) return undefined;
    cur =
      (await patchJob(services, cur.id, {
        state: {
          phase: 'submitting',
          replicate: { ...rep(), submit_started_at: rep().submit_started_at ?? services.now().toISOString(), create_attempts: (rep().create_attempts ?? 0) + 1 },
        },
      })) ?? cur;
    try {
      const raw = await client.trainings.create(ref.owner, ref.name, ref.version, {
        destination: rep().destination as `${string}/${string}`,
        input: trainingInput(cur, rep().input_file_url as string, lora.trigger_word),
        ...(webhook ? { webhook, webhook_events_filter: ['start', 'logs', 'completed'] } : {}),
        signal: ctx.signal,
      });
      const t = replicateTrainingSchema.parse(raw);
      // The remote id goes into the job before anything else can fail, even if the job was canceled meanwhile.
      await services.store.jobs.update(cur.id, { remote_id: t.id });
      if (await jobGone(services, cur.id)) {
        await client.trainings.cancel(t.id).catch(() => undefined);
        return undefined;
      }
      ctx.logger.info('created Replicate training', { remote_id: t.id });
      await applyRemoteTraining(services, cur.id, t);
      return await getTrainingJob(services, cur.id);
    } catch (e) {
      if (ctx.signal.aborted || !outcomeUnknown(e)) throw e;
      ctx.logger.warn('trainings.create answer lost; looking for the training before creating another', {
        attempt,
        error: e instanceof Error ? e.message : String(e),
      });
      for (let look = 0; look < 3; look++) {
        await ctx.sleep(Math.min(ctx.options.pollIntervalMs, 2000) * (look + 1));
        try {
          const found = await findExistingTraining(client, cur, ctx.signal);
          if (found) return await adopt(services, client, cur, found);
          break;
        } catch (le) {
          if (ctx.signal.aborted) throw le;
          if (look === 2) throw le; // cannot tell whether it exists: never create blindly
        }
      }
      if (attempt === MAX_CREATE_ATTEMPTS) throw e;
    }
  }
  return undefined;
}

async function jobGone(services: TrainingDeps, id: string): Promise<boolean> {
  const j = await getTrainingJob(services, id);
  return !j || isTerminalTraining(j.status);
}

/** Origins we download weights from without the SSRF rules: the configured API and Replicate's delivery CDN. */
function trustedWeightsUrl(services: TrainingDeps, url: URL): boolean {
  const api = new URL(services.config.replicate.baseUrl);
  if (url.origin === api.origin) return true;
  return url.protocol === 'https:' && (url.hostname === 'replicate.delivery' || url.hostname.endsWith('.replicate.delivery'));
}

/** Download the weights archive: trusted origins through the retrying fetch, anything else through the safe fetcher. */
export async function downloadWeights(services: TrainingDeps, url: string, signal: AbortSignal): Promise<Buffer> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new LoraloopError('UPSTREAM_ERROR', `Replicate returned a weights URL that is not a URL: ${url.slice(0, 200)}.`);
  }
  if (!trustedWeightsUrl(services, u)) {
    const safe = createSafeFetcher({ allowPrivate: services.config.allowPrivateUrls, maxBytes: MAX_WEIGHTS_BYTES, timeoutMs: 30 * 60_000 });
    return (await safe.download(url, { accept: 'any', signal })).bytes;
  }
  const fetcher = createRetryingFetch((i, init) => services.fetch(i, init), { service: 'Replicate delivery', signal, now: () => services.now().getTime() });
  const res = await fetcher(u, { method: 'GET', signal });
  if (!res.ok) {
    throw new LoraloopError('UPSTREAM_ERROR', `Downloading the trained weights failed: HTTP ${res.status} from ${u.origin}${u.pathname}.`, {
      hint: 'Replicate keeps outputs for a limited time; if it has expired, train again.',
    });
  }
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > MAX_WEIGHTS_BYTES) throw new LoraloopError('UPSTREAM_ERROR', `The weights archive is ${declared} bytes, over the ${MAX_WEIGHTS_BYTES}-byte limit.`);
  const chunks: Buffer[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > MAX_WEIGHTS_BYTES) throw new LoraloopError('UPSTREAM_ERROR', `The weights archive is over the ${MAX_WEIGHTS_BYTES}-byte limit.`);
      chunks.push(Buffer.from(chunk));
    }
  }
  return Buffer.concat(chunks, size);
}

/** Download, extract, inspect and register a succeeded training. */
async function finishSucceeded(job: TrainingJob, t: ReplicateTraining, ctx: FollowContext): Promise<void> {
  const { services } = ctx;
  const existing = (await services.store.loras.listVersions(job.state.lora_id)).find((v) => v.job_id === job.id);
  if (existing) {
    await completeTraining(services, job, { file: null });
    return;
  }
  const weights = t.output?.weights;
  if (!weights) throw new LoraloopError('UPSTREAM_ERROR', `Replicate training ${t.id} succeeded but returned no weights URL.`);
  await patchJob(services, job.id, { state: { phase: 'downloading' } });
  const archive = await downloadWeights(services, weights, ctx.signal);
  const entry = await extractLoraFromTar(archive);
  await patchJob(services, job.id, { state: { phase: 'registering' } });
  const fresh = (await getTrainingJob(services, job.id)) ?? job;
  const version = await completeTraining(services, fresh, {
    file: entry.data,
    remote_version: t.output?.version ?? null,
    weights_url: weights,
    extra: { trainer: job.state.replicate?.trainer, destination: job.state.replicate?.destination, remote_id: t.id },
  });
  ctx.logger.info('registered trained LoRA', { version: version.version, remote_version: t.output?.version });
}

/** Poll until the training ends, then finish. */
async function followRemote(job: TrainingJob, client: Replicate, ctx: FollowContext): Promise<void> {
  const { services } = ctx;
  const remoteId = job.remote_id as string;
  for (;;) {
    const cur = await getTrainingJob(services, job.id);
    if (!cur || isTerminalTraining(cur.status)) return;
    let t: ReplicateTraining;
    try {
      t = replicateTrainingSchema.parse(await client.trainings.get(remoteId, { signal: ctx.signal }));
    } catch (e) {
      if (ctx.signal.aborted) throw e;
      // Polling is safe to repeat: a rate limit or an outage delays the job, it does not fail it.
      const message = e instanceof Error ? e.message : String(e);
      ctx.logger.warn('polling the training failed; will try again', { error: message });
      await patchJob(services, job.id, { state: { replicate: { ...(cur.state.replicate as NonNullable<TrainingJobState['replicate']>), last_poll_error: message } } });
      await ctx.sleep(ctx.options.pollIntervalMs);
      continue;
    }
    const after = await applyRemoteTraining(services, job.id, t);
    if (t.status === 'succeeded') {
      await finishSucceeded(after ?? cur, t, ctx);
      return;
    }
    if (isTerminal(t.status)) return;
    await ctx.sleep(ctx.options.pollIntervalMs);
  }
}

export const replicateTrainer: TrainingDriver = {
  configured: (services) => Boolean(services.config.replicate.apiToken && services.config.replicate.destination),
  async follow(job, ctx) {
    const client = trainingClient(ctx.services, ctx.signal);
    let cur: TrainingJob | undefined = job;
    if (!cur.remote_id) {
      cur = await submit(cur, client, ctx);
      if (!cur?.remote_id) return;
    }
    await followRemote(cur, client, ctx);
  },
  async cancel(job, services) {
    if (!job.remote_id) return;
    const client = trainingClient(services);
    const t = replicateTrainingSchema.parse(await client.trainings.cancel(job.remote_id));
    await applyRemoteTraining(services, job.id, t);
  },
};

/** What the HTTP face answers Replicate. */
export interface WebhookAnswer {
  status: number;
  body: string;
}

/**
 * Receive a Replicate training webhook: verify the signature over the raw body (with a timestamp
 * tolerance), then apply the training to its job idempotently. A terminal success nudges this process's
 * runner, which downloads and registers the weights (the answer must go back within seconds).
 * Answers 2xx for anything we accept or deliberately ignore (so Replicate stops retrying), 401 for a bad
 * signature, 503 when no signing secret is configured.
 */
export async function handleReplicateWebhook(services: TrainingDeps, rawBody: string | Uint8Array, headers: WebhookHeaders): Promise<WebhookAnswer> {
  const secret = services.config.replicate.webhookSecret;
  if (!secret) {
    return { status: 503, body: 'REPLICATE_WEBHOOK_SECRET is not set; webhooks cannot be verified.' };
  }
  const v = verifyWebhook({ headers, body: rawBody }, { secret, now: () => services.now().getTime() });
  if (!v.ok) {
    services.logger.warn('Replicate webhook refused', { reason: v.reason });
    return { status: 401, body: v.message };
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof rawBody === 'string' ? rawBody : Buffer.from(rawBody).toString('utf8'));
  } catch {
    return { status: 400, body: 'The body is not JSON.' };
  }
  const t = replicateTrainingSchema.safeParse(parsed);
  if (!t.success) return { status: 400, body: 'The body is not a Replicate training.' };
  const training = t.data;
  const hook = (training as { webhook?: unknown }).webhook;
  const byQuery = typeof hook === 'string' ? safeQuery(hook, 'job_id') : undefined;
  const job =
    (byQuery ? await getTrainingJob(services, byQuery) : undefined) ??
    (await listTrainingJobs(services)).find((j) => j.remote_id === training.id);
  if (!job || (job.remote_id !== null && job.remote_id !== training.id)) return { status: 200, body: 'ignored: unknown training' };
  if (isTerminalTraining(job.status)) return { status: 200, body: 'ignored: job already ended' };
  if (job.remote_id === null) await services.store.jobs.update(job.id, { remote_id: training.id });
  const after = await applyRemoteTraining(services, job.id, training);
  if (isTerminal(training.status)) {
    // The follower polls slowly when webhooks arrive: wake it so a success is registered at once.
    const runner = services.trainingRunner();
    if (runner.isFollowing(job.id)) runner.nudge(job.id);
    else if (training.status === 'succeeded' && runner.running) void runner.scan();
  }
  return { status: 200, body: after ? 'ok' : 'ignored: stale event' };
}

/**
 * A local Replicate: a node:http server on 127.0.0.1 that follows CONTRACTS.md §2 (auth, files, models,
 * trainings, predictions, webhooks, problem+json errors, pagination), so tests run the official `replicate`
 * client against it. Jobs move starting -> processing -> succeeded|failed|aborted (or canceled) by polls,
 * by a clock, or by hand; training logs grow with real-format ai-toolkit tqdm lines; a successful training
 * serves a real .tar holding `output/flux_train_replicate/lora.safetensors`; predictions serve real PNGs.
 * Faults (429 + Retry-After, 500, slow, cut connection) can be queued for the next requests.
 *
 * Everything it does is recorded in `state` for assertions. Types are in replicate/types.ts, replies, log
 * lines, tars and trainer validation in replicate/wire.ts, the published model schemas in replicate-schemas.ts.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import { RUNNER_ASPECT_RATIOS } from '../../src/cover/backends/replicate-inputs.js';
import { signWebhook } from '../../src/core/webhook.js';
import { PUBLISHED_SCHEMAS, schemaErrors } from './replicate-schemas.js';
import {
  DEFAULT_EMULATOR_TOKEN,
  EVENTS,
  FLUX_TRAINER_NAME,
  FLUX_TRAINER_OWNER,
  FLUX_TRAINER_VERSION,
  JOB_NAME,
  MAX_JSON_BYTES,
  TERMINAL,
  buildTar,
  defaultLora,
  errorText,
  invalidInput,
  json,
  lossAt,
  newId,
  problem,
  pyExp,
  tqdmLine,
  validateTrainerInput,
  type Body,
  type Reply,
} from './replicate/wire.js';
import type {
  Drive,
  EmulatedJob,
  EmulatedModel,
  EmulatorState,
  FaultController,
  FaultSpec,
  FileObject,
  JobPlan,
  JobStatus,
  ModelSeed,
  ReplicateEmulator,
  ReplicateEmulatorOptions,
  RequestLogEntry,
  WebhookDelivery,
  WebhookEvent,
} from './replicate/types.js';

export type * from './replicate/types.js';
export { buildTar, DEFAULT_EMULATOR_TOKEN, FLUX_TRAINER_NAME, FLUX_TRAINER_OWNER, FLUX_TRAINER_VERSION, tqdmLine } from './replicate/wire.js';

// ---------------------------------------------------------------------------------------------------------
// The emulator
// ---------------------------------------------------------------------------------------------------------

export async function startReplicateEmulator(options: ReplicateEmulatorOptions = {}): Promise<ReplicateEmulator> {
  const token = options.token ?? DEFAULT_EMULATOR_TOKEN;
  const account = options.account ?? 'loraloop';
  const webhookSecret = options.webhookSecret ?? `whsec_${randomBytes(24).toString('base64')}`;
  const maxFileBytes = options.maxFileBytes ?? 100 * 1024 * 1024;
  const pageSize = Math.max(1, options.pageSize ?? 100);
  const drive: Drive = options.drive ?? { by: 'polls', pollsPerTick: 1 };
  const baseNow = options.now ?? Date.now;
  const webhookRetryDelays = options.webhookRetryDelaysMs ?? [50, 100, 200];
  const preferWaitUnitMs = options.preferWaitUnitMs ?? 5;
  let offsetMs = 0;
  const now = () => baseNow() + offsetMs;
  const iso = (ms: number = now()) => new Date(ms).toISOString();

  const state: EmulatorState = { trainings: [], predictions: [], files: [], models: new Map(), requests: [], webhooks: [] };
  const byId = new Map<string, EmulatedJob>();
  const plans: Record<'training' | 'prediction', JobPlan[]> = { training: [], prediction: [] };
  const faultQueue: Array<FaultSpec & { remaining: number }> = [];
  const pendingDeliveries = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  const aborter = new AbortController();
  const pngCache = new Map<string, Buffer>();
  const tarCache = new Map<string, Buffer>();
  let origin = '';
  let base = '';
  let closed = false;

  const addModel = (m: ModelSeed) => {
    const given = (m.versions ?? []).map((v) => (typeof v === 'string' ? { id: v, created_at: iso() } : v));
    // Official models still have a (hidden) latest version, and it carries their openapi_schema.
    const versions = given.length || !m.official ? given : [{ id: createHash('sha256').update(`${m.owner}/${m.name}`).digest('hex'), created_at: iso() }];
    state.models.set(`${m.owner}/${m.name}`, {
      owner: m.owner,
      name: m.name,
      versions,
      official: m.official ?? false,
      trainable: m.trainable ?? false,
      visibility: m.visibility ?? 'public',
      openapiSchema: m.openapiSchema ?? PUBLISHED_SCHEMAS[`${m.owner}/${m.name}`] ?? null,
    });
  };
  addModel({ owner: FLUX_TRAINER_OWNER, name: FLUX_TRAINER_NAME, versions: [FLUX_TRAINER_VERSION], trainable: true });
  addModel({ owner: account, name: 'brand-loras', visibility: 'private' });
  addModel({ owner: 'black-forest-labs', name: 'flux-schnell', official: true, versions: [createHash('sha256').update('flux-schnell').digest('hex')] });
  addModel({ owner: 'black-forest-labs', name: 'flux-dev', official: true, versions: [createHash('sha256').update('flux-dev').digest('hex')] });
  for (const m of options.models ?? []) addModel(m);

  // ---- job rendering, lifecycle and webhooks ------------------------------------------------------------

  const render = (job: EmulatedJob): Record<string, unknown> => {
    const { sim: _sim, kind: _kind, ...wire } = job;
    return structuredClone(wire);
  };

  const filterOf = (job: EmulatedJob): readonly WebhookEvent[] => job.webhook_events_filter ?? ['output', 'completed'];

  const deliver = (job: EmulatedJob, event: WebhookEvent) => {
    if (!job.webhook || closed || !filterOf(job).includes(event)) return;
    const delivery: WebhookDelivery = {
      id: `msg_${newId()}`,
      url: job.webhook,
      event,
      objectId: job.id,
      kind: job.kind,
      body: JSON.stringify(render(job)),
      attempts: 0,
      responses: [],
      state: 'pending',
    };
    state.webhooks.push(delivery);
    const attempt = async (): Promise<void> => {
      delivery.attempts++;
      const timestamp = Math.floor(now() / 1000);
      let failed: string | number | undefined;
      try {
        const res = await fetch(delivery.url, {
          method: 'POST',
          redirect: 'manual', // Replicate does not follow redirects
          headers: {
            'content-type': 'application/json',
            'user-agent': 'Replicate-Webhooks/1.0 (emulator)',
            'webhook-id': delivery.id,
            'webhook-timestamp': String(timestamp),
            'webhook-signature': signWebhook({ id: delivery.id, timestamp, body: delivery.body, secret: webhookSecret }),
          },
          body: delivery.body,
          signal: AbortSignal.any([aborter.signal, AbortSignal.timeout(5000)]),
        });
        await res.arrayBuffer().catch(() => undefined);
        delivery.responses.push(res.status);
        if (res.status < 200 || res.status >= 300) failed = res.status;
      } catch (e) {
        failed = errorText(e);
        delivery.responses.push(failed);
      }
      if (failed === undefined) {
        delivery.state = 'delivered';
        return;
      }
      // Only the terminal webhook is retried (CONTRACTS.md §2.6).
      const delay = webhookRetryDelays[delivery.attempts - 1];
      if (event !== 'completed' || delay === undefined || closed) {
        delivery.state = 'failed';
        return;
      }
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => {
          timers.delete(t);
          resolve();
        }, delay);
        timers.add(t);
        aborter.signal.addEventListener('abort', () => resolve(), { once: true });
      });
      if (closed) {
        delivery.state = 'failed';
        return;
      }
      return attempt();
    };
    const p = attempt().finally(() => pendingDeliveries.delete(p));
    pendingDeliveries.add(p);
  };

  const finish = (job: EmulatedJob, status: JobStatus) => {
    const t = now();
    job.status = status;
    job.completed_at = iso(t);
    if (job.sim.startedMs !== null) {
      job.metrics = { ...job.metrics, predict_time: (t - job.sim.startedMs) / 1000, total_time: (t - job.sim.createdMs) / 1000 };
    }
    deliver(job, 'completed');
  };

  const succeedTraining = (job: EmulatedJob) => {
    const dest = job.destination ? state.models.get(job.destination) : undefined;
    const versionId = createHash('sha256').update(`version:${job.id}`).digest('hex');
    dest?.versions.unshift({ id: versionId, created_at: iso() });
    // The version runs flux-fine-tuner's predict.py, so it publishes that schema.
    if (dest && !dest.openapiSchema) dest.openapiSchema = PUBLISHED_SCHEMAS['trained-version'];
    job.output = { version: `${job.destination}:${versionId}`, weights: `${origin}/delivery/${job.id}/trained_model.tar` };
    job.logs += `\nSaving LoRA weights to output/${JOB_NAME}/lora.safetensors\nTraining complete. Uploading weights...\n`;
    finish(job, 'succeeded');
  };

  const succeedPrediction = (job: EmulatedJob) => {
    const n = Math.min(4, Math.max(1, typeof job.input['num_outputs'] === 'number' ? Math.floor(job.input['num_outputs']) : 1));
    job.output = Array.from({ length: n }, (_, i) => `${origin}/delivery/${job.id}/out-${i}.png`);
    job.logs += `Total safe images: ${n} out of ${n}\n`;
    deliver(job, 'output');
    job.metrics = { ...job.metrics, image_count: n };
    finish(job, 'succeeded');
  };

  /** Apply tick `t` (1-based) to a job; each tick is one visible change. */
  const applyTick = (job: EmulatedJob, t: number) => {
    if (TERMINAL.has(job.status)) return;
    const plan = job.sim.plan;
    const k = Math.max(1, plan.progressTicks);
    if (t === 1) {
      if (plan.outcome === 'aborted') {
        job.error = plan.error || null;
        finish(job, 'aborted');
        return;
      }
      job.status = 'processing';
      job.sim.startedMs = now();
      job.started_at = iso(job.sim.startedMs);
      if (job.kind === 'training') {
        const total = typeof job.input['steps'] === 'number' ? job.input['steps'] : 1000;
        job.logs +=
          `Starting train job\nExtracting input_images.zip\n` +
          (job.sim.trainerError ? '' : `Found ${job.sim.imageCount} images\n`) +
          (job.sim.trainerError
            ? ''
            : `${tqdmLine('Caching latents to disk', job.sim.imageCount, job.sim.imageCount, undefined, 3.91)}\n` +
              `${tqdmLine(JOB_NAME, 0, total)}`);
        if (job.sim.trainerError) {
          job.logs += `Traceback (most recent call last):\nValueError: ${job.sim.trainerError}\n`;
          job.error = job.sim.trainerError;
          deliver(job, 'logs');
          finish(job, 'failed');
          return;
        }
      } else {
        job.logs += `Using seed: ${parseInt(job.id.slice(0, 6), 36) % 100000}\n${tqdmLine('', 0, 4).slice(2)}`;
      }
      deliver(job, 'logs');
      return;
    }
    if (t <= k + 1) {
      const i = t - 1;
      if (job.kind === 'training') {
        const total = typeof job.input['steps'] === 'number' ? job.input['steps'] : 1000;
        const lr = typeof job.input['learning_rate'] === 'number' ? job.input['learning_rate'] : 4e-4;
        const n = Math.round((total * i) / k);
        const seed = job.id.charCodeAt(0);
        // tqdm redraws in place with \r; the final redraw ends the line.
        job.logs += `\r${tqdmLine(JOB_NAME, n, total, `lr: ${pyExp(lr, 1)} loss: ${pyExp(lossAt(i / k, seed), 3)}`)}`;
        if (i === k) job.logs += '\n';
      } else {
        job.logs += `\r${tqdmLine('', Math.round((4 * i) / k), 4, undefined, 2.5).slice(2)}`;
        if (i === k) job.logs += '\n';
      }
      deliver(job, 'logs');
      return;
    }
    if (plan.outcome === 'failed') {
      const error = plan.error || 'CUDA out of memory. Tried to allocate 2.00 GiB';
      job.error = error;
      job.logs += `Traceback (most recent call last):\nRuntimeError: ${error}\n`;
      finish(job, 'failed');
      return;
    }
    if (job.kind === 'training') succeedTraining(job);
    else succeedPrediction(job);
  };

  const moveTo = (job: EmulatedJob, tick: number) => {
    while (job.sim.tick < tick && !TERMINAL.has(job.status)) {
      job.sim.tick++;
      applyTick(job, job.sim.tick);
    }
  };

  const syncClock = (job: EmulatedJob) => {
    if (drive.by === 'clock') moveTo(job, Math.floor((now() - job.sim.createdMs) / Math.max(1, drive.tickMs)));
  };

  const onPoll = (job: EmulatedJob) => {
    job.sim.polls++;
    if (drive.by === 'polls' && job.sim.polls % Math.max(1, drive.pollsPerTick ?? 1) === 0) moveTo(job, job.sim.tick + 1);
    syncClock(job);
  };

  const allJobs = () => [...state.trainings, ...state.predictions];

  if (drive.by === 'clock') {
    const t = setInterval(() => allJobs().forEach(syncClock), Math.max(5, drive.tickMs));
    t.unref();
    timers.add(t);
  }

  const takePlan = (kind: 'training' | 'prediction'): EmulatedJob['sim']['plan'] => {
    const p = plans[kind].shift() ?? (kind === 'training' ? options.trainingPlan : options.predictionPlan) ?? {};
    return {
      outcome: p.outcome ?? 'succeeded',
      error: p.error ?? '',
      progressTicks: p.progressTicks ?? (kind === 'training' ? 4 : 1),
      syncCompletes: p.syncCompletes ?? true,
    };
  };

  // ---- body helpers -------------------------------------------------------------------------------------

  const readBody = (req: IncomingMessage, cap: number): Promise<Body> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let overflow = false;
      req.on('data', (c: Buffer) => {
        size += c.length;
        // Keep draining past the cap so the client can read our 413 instead of a reset.
        if (size > cap) overflow = true;
        else chunks.push(c);
      });
      req.on('end', () => resolve({ bytes: Buffer.concat(chunks), overflow }));
      req.on('error', reject);
    });

  const parseJson = ({ bytes, overflow }: Body): { ok: true; value: unknown } | { ok: false; reply: Reply } => {
    if (overflow) return { ok: false, reply: problem(413, 'Request Entity Too Large', 'The request body is too large.') };
    if (bytes.length === 0) return { ok: true, value: {} };
    try {
      return { ok: true, value: JSON.parse(bytes.toString('utf8')) as unknown };
    } catch {
      return { ok: false, reply: problem(400, 'Bad request', 'The request body is not valid JSON.') };
    }
  };

  const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

  /** Common webhook fields; returns an error reply or the fields. */
  const webhookFields = (body: Record<string, unknown>): Reply | { webhook?: string; webhook_events_filter?: WebhookEvent[] } => {
    const out: { webhook?: string; webhook_events_filter?: WebhookEvent[] } = {};
    if (body['webhook'] !== undefined) {
      const w = body['webhook'];
      let ok = typeof w === 'string';
      if (ok) {
        try {
          const u = new URL(w as string);
          ok = u.protocol === 'https:' || u.protocol === 'http:';
        } catch {
          ok = false;
        }
      }
      if (!ok) return problem(422, 'Invalid webhook', '- webhook: Invalid URL\n');
      out.webhook = w as string;
    }
    if (body['webhook_events_filter'] !== undefined) {
      const f = body['webhook_events_filter'];
      if (!Array.isArray(f) || !f.every((e) => typeof e === 'string' && (EVENTS as readonly string[]).includes(e))) {
        return problem(422, 'Invalid webhook_events_filter', `- webhook_events_filter: items must be one of ${EVENTS.join(', ')}\n`);
      }
      out.webhook_events_filter = f as WebhookEvent[];
    }
    return out;
  };

  const page = (items: unknown[], url: URL): Reply => {
    const cursor = Number(url.searchParams.get('cursor') ?? '0');
    const start = Number.isInteger(cursor) && cursor > 0 ? cursor : 0;
    const results = items.slice(start, start + pageSize);
    const link = (at: number) => {
      const u = new URL(`${origin}${url.pathname}`);
      u.searchParams.set('cursor', String(at));
      return u.toString();
    };
    return json(200, {
      next: start + pageSize < items.length ? link(start + pageSize) : null,
      previous: start > 0 ? link(Math.max(0, start - pageSize)) : null,
      results,
    });
  };

  const jobUrls = (kind: 'training' | 'prediction', id: string): Record<string, string> => {
    const plural = kind === 'training' ? 'trainings' : 'predictions';
    return { get: `${base}/${plural}/${id}`, cancel: `${base}/${plural}/${id}/cancel`, web: `https://replicate.com/p/${id}` };
  };

  const newJob = (
    kind: 'training' | 'prediction',
    fields: { model: string; version: string; input: Record<string, unknown>; webhook?: string; webhook_events_filter?: WebhookEvent[]; destination?: string },
    extra: { trainerError?: string | null; imageCount?: number } = {},
  ): EmulatedJob => {
    const id = newId();
    const t = now();
    const job: EmulatedJob = {
      kind,
      id,
      model: fields.model,
      version: fields.version,
      input: fields.input,
      status: 'starting',
      output: null,
      error: null,
      logs: '',
      metrics: {},
      source: 'api',
      created_at: iso(t),
      started_at: null,
      completed_at: null,
      ...(fields.webhook ? { webhook: fields.webhook } : {}),
      ...(fields.webhook_events_filter ? { webhook_events_filter: fields.webhook_events_filter } : {}),
      ...(fields.destination ? { destination: fields.destination } : {}),
      ...(kind === 'prediction' ? { data_removed: false } : {}),
      urls: jobUrls(kind, id),
      sim: {
        tick: 0,
        polls: 0,
        createdMs: t,
        startedMs: null,
        plan: takePlan(kind),
        trainerError: extra.trainerError ?? null,
        imageCount: extra.imageCount ?? 0,
      },
    };
    byId.set(id, job);
    (kind === 'training' ? state.trainings : state.predictions).push(job);
    deliver(job, 'start');
    return job;
  };

  /** What ostris' train.py would say about `input_images` before training (zip check, image count). */
  const inspectTrainingImages = (input: Record<string, unknown>): { trainerError: string | null; imageCount: number } => {
    const ref = input['input_images'];
    if (typeof ref !== 'string') return { trainerError: null, imageCount: 10 };
    const fileMatch = ref.startsWith(`${base}/files/`) ? /\/files\/([^/?#]+)/.exec(ref.slice(base.length)) : null;
    if (!fileMatch) {
      let path = ref;
      try {
        path = new URL(ref).pathname;
      } catch {
        return { trainerError: `input_images is not a URL: ${ref}`, imageCount: 0 };
      }
      return path.endsWith('.zip') ? { trainerError: null, imageCount: 10 } : { trainerError: 'input_images must be a zip file', imageCount: 0 };
    }
    const file = state.files.find((f) => f.object.id === fileMatch[1]);
    if (!file) return { trainerError: `could not download input_images: file ${fileMatch[1]} not found`, imageCount: 0 };
    if (file.bytes.subarray(0, 4).toString('latin1') !== 'PK\x03\x04') return { trainerError: 'input_images must be a zip file', imageCount: 0 };
    try {
      const names = Object.keys(unzipSync(new Uint8Array(file.bytes), { filter: (f) => !f.name.startsWith('__MACOSX/') }));
      const images = names.filter((n) => /\.(jpe?g|png|webp)$/i.test(n) && !/(^|\/)\._/.test(n));
      if (images.length === 0) return { trainerError: 'No images found in input_images', imageCount: 0 };
      return { trainerError: null, imageCount: images.length };
    } catch {
      return { trainerError: 'input_images is not a valid zip file', imageCount: 0 };
    }
  };

  // ---- routes -------------------------------------------------------------------------------------------

  const latestVersion = (m: EmulatedModel) => m.versions[0];

  const modelObject = (m: EmulatedModel) => {
    const latest = latestVersion(m);
    return {
      url: `https://replicate.com/${m.owner}/${m.name}`,
      owner: m.owner,
      name: m.name,
      description: null,
      visibility: m.visibility,
      github_url: null,
      paper_url: null,
      license_url: null,
      run_count: 0,
      cover_image_url: null,
      default_example: null,
      latest_version: latest ? versionObject(m, latest) : null,
    };
  };
  const versionObject = (m: EmulatedModel, v: { id: string; created_at: string }) => ({ id: v.id, created_at: v.created_at, cog_version: '0.9.25', openapi_schema: m.openapiSchema ?? null });

  const createFile = async (req: IncomingMessage, body: Body): Promise<Reply> => {
    const { bytes, overflow } = body;
    const ct = req.headers['content-type'] ?? '';
    if (!ct.startsWith('multipart/form-data')) return problem(400, 'Bad request', 'Expected multipart/form-data with a "content" part.');
    if (overflow) return problem(413, 'Request Entity Too Large', `Files must be less than ${Math.round(maxFileBytes / 1024 / 1024)}MB in size`);
    let form: FormData;
    try {
      form = await new Response(new Uint8Array(bytes), { headers: { 'content-type': ct } }).formData();
    } catch {
      return problem(400, 'Bad request', 'The multipart body could not be parsed.');
    }
    const content = form.get('content');
    if (!(content instanceof Blob)) return problem(422, 'Input validation failed', '- content: Field required\n');
    const data = Buffer.from(await content.arrayBuffer());
    if (data.length > maxFileBytes) {
      return problem(413, 'Request Entity Too Large', `Files must be less than ${Math.round(maxFileBytes / 1024 / 1024)}MB in size`);
    }
    let metadata: Record<string, unknown> = {};
    const meta = form.get('metadata');
    if (meta !== null) {
      const text = typeof meta === 'string' ? meta : await meta.text();
      try {
        const parsed: unknown = JSON.parse(text || '{}');
        if (!isRecord(parsed)) throw new Error('not an object');
        metadata = parsed;
      } catch {
        return problem(422, 'Input validation failed', '- metadata: must be a JSON object\n');
      }
    }
    const nameField = form.get('filename');
    const filename = typeof nameField === 'string' && nameField ? nameField : content instanceof File && content.name ? content.name : 'file';
    if (Buffer.byteLength(filename) > 255) return problem(422, 'Input validation failed', '- filename: at most 255 bytes\n');
    const typeField = form.get('type');
    const contentType = typeof typeField === 'string' && typeField ? typeField : content.type || 'application/octet-stream';
    const id = newId();
    const created = now();
    const object: FileObject = {
      id,
      content_type: contentType,
      size: data.length,
      checksums: { sha256: createHash('sha256').update(data).digest('hex') },
      metadata,
      created_at: iso(created),
      expires_at: iso(created + 24 * 3600 * 1000),
      urls: { get: `${base}/files/${id}` },
    };
    state.files.push({ object, filename, bytes: data });
    return json(201, object);
  };

  const createTraining = async (raw: Body, owner: string, name: string, versionId: string): Promise<Reply> => {
    const parsed = parseJson(raw);
    if (!parsed.ok) return parsed.reply;
    const trainer = state.models.get(`${owner}/${name}`);
    if (!trainer) return problem(404, 'Not found', `Model ${owner}/${name} does not exist.`);
    if (!trainer.versions.some((v) => v.id === versionId)) return problem(404, 'Not found', `Version ${versionId} of ${owner}/${name} does not exist.`);
    if (!trainer.trainable) return problem(422, 'Unprocessable Entity', `${owner}/${name} does not support training.`);
    const body = parsed.value;
    if (!isRecord(body)) return problem(422, 'Input validation failed', 'The body must be a JSON object.\n');
    const unknownKeys = Object.keys(body).filter((k) => !['destination', 'input', 'webhook', 'webhook_events_filter'].includes(k));
    if (unknownKeys.length) return problem(422, 'Input validation failed', unknownKeys.map((k) => `- ${k}: Extra inputs are not permitted`).join('\n') + '\n');
    const destination = body['destination'];
    if (typeof destination !== 'string' || !/^[^/\s]+\/[^/\s:]+$/.test(destination)) {
      return problem(422, 'Input validation failed', '- destination: must be of the form owner/name\n');
    }
    const dest = state.models.get(destination);
    if (!dest) return problem(404, 'Not found', `The specified training destination ${destination} does not exist.`);
    if (dest.owner !== account) return problem(403, 'Forbidden', `You do not have permission to create versions of ${destination}.`);
    const input = body['input'];
    if (!isRecord(input)) return problem(422, 'Input validation failed', '- input: Field required\n');
    if (owner === FLUX_TRAINER_OWNER && name === FLUX_TRAINER_NAME) {
      const errs = validateTrainerInput(input);
      if (errs.length) return invalidInput(errs);
    }
    const hook = webhookFields(body);
    if ('status' in hook) return hook;
    const job = newJob(
      'training',
      { model: `${owner}/${name}`, version: versionId, input, destination, ...hook },
      owner === FLUX_TRAINER_OWNER && name === FLUX_TRAINER_NAME ? inspectTrainingImages(input) : {},
    );
    return json(201, render(job));
  };

  const preferWaitSeconds = (req: IncomingMessage): Reply | number | undefined => {
    const prefer = req.headers['prefer'];
    if (prefer === undefined) return undefined;
    const m = /^wait(?:=([1-9]|[1-9][0-9]|60))?$/.exec(String(prefer).trim());
    if (!m) return problem(422, 'Invalid Prefer header', 'Prefer must be "wait" or "wait=N" with N between 1 and 60.');
    return m[1] ? Number(m[1]) : 60;
  };

  const createPrediction = async (req: IncomingMessage, raw: Body, modelPath?: { owner: string; name: string }): Promise<Reply> => {
    const wait = preferWaitSeconds(req);
    if (typeof wait === 'object') return wait;
    const parsed = parseJson(raw);
    if (!parsed.ok) return parsed.reply;
    const body = parsed.value;
    if (!isRecord(body)) return problem(422, 'Input validation failed', 'The body must be a JSON object.\n');
    const allowed = ['input', 'webhook', 'webhook_events_filter', 'stream', ...(modelPath ? [] : ['version'])];
    const unknownKeys = Object.keys(body).filter((k) => !allowed.includes(k));
    if (unknownKeys.length) return problem(422, 'Input validation failed', unknownKeys.map((k) => `- ${k}: Extra inputs are not permitted`).join('\n') + '\n');
    const input = body['input'];
    if (!isRecord(input)) return problem(422, 'Input validation failed', '- input: Field required\n');
    let model: EmulatedModel | undefined;
    let version: string | undefined;
    if (modelPath) {
      model = state.models.get(`${modelPath.owner}/${modelPath.name}`);
      if (!model) return problem(404, 'Not found', `Model ${modelPath.owner}/${modelPath.name} does not exist.`);
      if (!model.official && !latestVersion(model)) return problem(422, 'Unprocessable Entity', `${modelPath.owner}/${modelPath.name} has no version to run.`);
      version = model.official ? 'hidden' : latestVersion(model)?.id;
    } else {
      const ref = body['version'];
      if (typeof ref !== 'string' || !ref) return problem(422, 'Input validation failed', '- version: Field required\n');
      const m = /^(?:([^/\s:]+)\/([^/\s:]+))?(?::?([0-9a-f]{64}))?$/.exec(ref);
      if (m?.[3]) {
        version = m[3];
        model = m[1] ? state.models.get(`${m[1]}/${m[2]}`) : [...state.models.values()].find((x) => x.versions.some((v) => v.id === version));
        if (model && !model.versions.some((v) => v.id === version)) model = undefined;
      } else if (m?.[1]) {
        model = state.models.get(`${m[1]}/${m[2]}`);
        if (model && !model.official) model = undefined;
        version = 'hidden';
      }
      if (!model) return problem(422, 'Invalid version or not permitted', `The specified version does not exist (or perhaps you don't have permission to use it?): ${ref}`);
    }
    const refused = model.openapiSchema ? schemaErrors(input, model.openapiSchema) : [];
    if (refused.length) return invalidInput(refused);
    const hook = webhookFields(body);
    if ('status' in hook) return hook;
    const job = newJob('prediction', { model: `${model.owner}/${model.name}`, version: version ?? 'hidden', input, ...hook });
    const location = { location: job.urls['get'] ?? '' };
    if (wait === undefined) return json(201, render(job), location);
    if (job.sim.plan.syncCompletes) {
      moveTo(job, Number.MAX_SAFE_INTEGER);
      return json(201, render(job), location);
    }
    await new Promise((r) => setTimeout(r, wait * preferWaitUnitMs));
    return json(202, render(job), location);
  };

  const cancelJob = (job: EmulatedJob): Reply => {
    if (!TERMINAL.has(job.status)) {
      job.logs += '\nCanceled by user\n';
      finish(job, 'canceled');
    }
    return json(200, render(job));
  };

  const serveDelivery = async (path: string): Promise<Reply> => {
    const m = /^\/delivery\/([^/]+)\/([^/]+)$/.exec(path);
    const job = m?.[1] ? byId.get(m[1]) : undefined;
    if (!m || !job || job.status !== 'succeeded') return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not found' };
    if (job.kind === 'training' && m[2] === 'trained_model.tar') {
      let tar = tarCache.get(job.id);
      if (!tar) {
        const rank = typeof job.input['lora_rank'] === 'number' ? job.input['lora_rank'] : 16;
        const steps = typeof job.input['steps'] === 'number' ? job.input['steps'] : 1000;
        const trigger = typeof job.input['trigger_word'] === 'string' ? job.input['trigger_word'] : 'TOK';
        const lora = (options.buildLora ?? defaultLora)({ rank, steps, triggerWord: trigger });
        const mtime = Math.floor(now() / 1000);
        tar = await buildTar(
          [
            { name: 'output/' },
            { name: `output/${JOB_NAME}/` },
            { name: `output/${JOB_NAME}/lora.safetensors`, data: lora },
            { name: `output/${JOB_NAME}/captions/` },
            { name: `output/${JOB_NAME}/captions/image_0.txt`, data: Buffer.from(`a photo of ${trigger}\n`) },
          ],
          mtime,
        );
        tarCache.set(job.id, tar);
      }
      return { status: 200, headers: { 'content-type': 'application/x-tar' }, body: tar };
    }
    const out = /^out-(\d+)\.png$/.exec(m[2] ?? '');
    if (job.kind === 'prediction' && out && Array.isArray(job.output) && Number(out[1]) < job.output.length) {
      const key = `${job.id}/${out[1]}`;
      let png = pngCache.get(key);
      if (!png) {
        const seed = createHash('sha256').update(key).digest();
        // The LoRA runner makes its aspect ratio's size (cog-flux predict.py); trained versions take width/height.
        const fixed = RUNNER_ASPECT_RATIOS[String(job.input['aspect_ratio'])];
        const half = job.input['megapixels'] === '0.25' ? 2 : 1;
        const dim = (k: 'width' | 'height') => {
          const v = job.input[k];
          if (fixed && v === undefined) return Math.floor(fixed[k === 'width' ? 0 : 1] / half);
          return typeof v === 'number' && Number.isInteger(v) && v >= 16 && v <= 2048 ? v : 64;
        };
        png = await sharp({
          create: { width: dim('width'), height: dim('height'), channels: 3, background: { r: seed[0] ?? 0, g: seed[1] ?? 0, b: seed[2] ?? 0 } },
        })
          .png()
          .toBuffer();
        pngCache.set(key, png);
      }
      return { status: 200, headers: { 'content-type': 'image/png' }, body: png };
    }
    return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'Not found' };
  };

  const route = async (req: IncomingMessage, url: URL, raw: Body): Promise<Reply> => {
    const method = (req.method ?? 'GET').toUpperCase();
    const p = url.pathname.replace(/\/+$/, '');
    const seg = p.split('/').slice(2).map(decodeURIComponent); // after '', 'v1'
    const is = (m: string, ...pattern: string[]) =>
      method === m && seg.length === pattern.length && pattern.every((x, i) => x === '*' || x === seg[i]);

    if (is('GET', 'account')) return json(200, { type: 'organization', username: account, name: account, github_url: null });
    if (is('GET', 'webhooks', 'default', 'secret')) return json(200, { key: webhookSecret });

    if (is('POST', 'files')) return createFile(req, raw);
    if (is('GET', 'files')) return page([...state.files].reverse().map((f) => f.object), url);
    if (is('GET', 'files', '*') || is('DELETE', 'files', '*') || is('GET', 'files', '*', 'download')) {
      const idx = state.files.findIndex((f) => f.object.id === seg[1]);
      const file = state.files[idx];
      if (!file) return problem(404, 'Not found', 'The requested resource could not be found.');
      if (method === 'DELETE') {
        state.files.splice(idx, 1);
        return { status: 204 };
      }
      if (seg[2] === 'download') return { status: 200, headers: { 'content-type': file.object.content_type }, body: file.bytes };
      return json(200, file.object);
    }

    if (is('POST', 'models')) {
      const parsed = parseJson(raw);
      if (!parsed.ok) return parsed.reply;
      const b = parsed.value;
      if (!isRecord(b) || typeof b['owner'] !== 'string' || typeof b['name'] !== 'string' || !['public', 'private'].includes(String(b['visibility']))) {
        return problem(422, 'Input validation failed', '- owner, name, visibility and hardware are required\n');
      }
      if (b['owner'] !== account) return problem(403, 'Forbidden', `You cannot create models for ${b['owner']}.`);
      if (state.models.has(`${b['owner']}/${b['name']}`)) return problem(409, 'Conflict', `A model named ${b['owner']}/${b['name']} already exists.`);
      addModel({ owner: b['owner'], name: b['name'], visibility: b['visibility'] as 'public' | 'private' });
      const created = state.models.get(`${b['owner']}/${b['name']}`);
      return json(201, created ? modelObject(created) : {});
    }
    if (seg[0] === 'models' && seg.length >= 3) {
      const model = state.models.get(`${seg[1]}/${seg[2]}`);
      if (is('POST', 'models', '*', '*', 'versions', '*', 'trainings')) return createTraining(raw, seg[1] ?? '', seg[2] ?? '', seg[4] ?? '');
      if (is('POST', 'models', '*', '*', 'predictions')) return createPrediction(req, raw, { owner: seg[1] ?? '', name: seg[2] ?? '' });
      if (!model) return problem(404, 'Not found', `Model ${seg[1]}/${seg[2]} does not exist.`);
      if (is('GET', 'models', '*', '*')) return json(200, modelObject(model));
      if (is('GET', 'models', '*', '*', 'versions')) return page(model.versions.map((v) => versionObject(model, v)), url);
      if (is('GET', 'models', '*', '*', 'versions', '*')) {
        const v = model.versions.find((x) => x.id === seg[4]);
        return v ? json(200, versionObject(model, v)) : problem(404, 'Not found', `Version ${seg[4]} does not exist.`);
      }
    }

    if (is('POST', 'predictions')) return createPrediction(req, raw);
    for (const [plural, list] of [
      ['predictions', state.predictions],
      ['trainings', state.trainings],
    ] as const) {
      if (is('GET', plural)) {
        list.forEach(syncClock);
        return page([...list].reverse().map(render), url);
      }
      if (is('GET', plural, '*') || is('POST', plural, '*', 'cancel')) {
        const job = byId.get(seg[1] ?? '');
        if (!job || `${job.kind}s` !== plural) return problem(404, 'Not found', 'The requested resource could not be found.');
        if (method === 'POST') return cancelJob(job);
        onPoll(job);
        return json(200, render(job));
      }
    }
    return problem(404, 'Not found', `No route for ${method} ${p}.`);
  };

  // ---- HTTP plumbing ------------------------------------------------------------------------------------

  const takeFault = (method: string, path: string): FaultSpec | undefined => {
    const i = faultQueue.findIndex(
      (f) =>
        f.remaining > 0 &&
        (!f.method || f.method.toUpperCase() === method) &&
        (!f.path || (typeof f.path === 'string' ? f.path === path : f.path.test(path))),
    );
    const f = faultQueue[i];
    if (!f) return undefined;
    f.remaining--;
    if (f.remaining <= 0) faultQueue.splice(i, 1);
    return f;
  };

  const authorized = (req: IncomingMessage): boolean => {
    const h = req.headers['authorization'] ?? '';
    const m = /^(Bearer|Token)\s+(.+)$/i.exec(h);
    return m?.[2]?.trim() === token;
  };

  const send = (res: ServerResponse, reply: Reply) => {
    if (res.destroyed) return;
    res.writeHead(reply.status, reply.headers ?? {});
    res.end(reply.body);
  };

  const server = createServer((req, res) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const entry: RequestLogEntry = { method, path: url.pathname, query: url.search, at: Date.now(), status: 0, authorized: false };
    state.requests.push(entry);
    const handle = async (): Promise<void> => {
      if (url.pathname.startsWith('/delivery/') && method === 'GET') {
        const reply = await serveDelivery(url.pathname);
        entry.status = reply.status;
        send(res, reply);
        return;
      }
      const fault = takeFault(method, url.pathname);
      if (fault) entry.fault = fault.kind;
      if (fault?.kind === 'drop') {
        entry.status = 'dropped';
        req.socket.destroy();
        return;
      }
      // Read the whole body first, as a real front end does before it rate-limits, stalls or handles.
      const raw = await readBody(req, url.pathname === '/v1/files' ? maxFileBytes + 64 * 1024 : MAX_JSON_BYTES);
      if (fault?.kind === 'rate_limit') {
        entry.status = 429;
        const headers: Record<string, string> = { 'retry-after': fault.retryAfter ?? '1' };
        if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
        const r = problem(429, 'Too Many Requests', 'Request was throttled. Your rate limit resets in ~1s.');
        send(res, { ...r, headers: { ...r.headers, ...headers } });
        return;
      }
      if (fault?.kind === 'server_error') {
        const status = fault.status ?? 500;
        entry.status = status;
        send(res, problem(status, 'Internal Server Error', 'An unexpected error occurred.'));
        return;
      }
      if (fault?.kind === 'slow') await new Promise((r) => setTimeout(r, fault.delayMs ?? 200));
      entry.authorized = authorized(req);
      let reply: Reply;
      if (!url.pathname.startsWith('/v1/')) {
        reply = problem(404, 'Not found', `No route for ${method} ${url.pathname}.`);
      } else if (!entry.authorized) {
        reply = problem(401, 'Unauthenticated', 'You did not pass a valid authentication token');
      } else {
        reply = await route(req, url, raw);
      }
      if (fault?.kind === 'cut') {
        // The work is done (a training exists) but the client never hears about it.
        entry.status = 'cut';
        req.socket.destroy();
        return;
      }
      entry.status = reply.status;
      send(res, reply);
    };
    handle().catch((e: unknown) => {
      entry.status = 500;
      if (!res.headersSent) send(res, problem(500, 'Internal Server Error', `Emulator error: ${errorText(e)}`));
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
  base = `${origin}/v1`;

  const faults: FaultController = {
    add: (spec) => faultQueue.push({ ...spec, remaining: spec.times ?? 1 }),
    clear: () => faultQueue.splice(0, faultQueue.length),
    get pending() {
      return faultQueue;
    },
  };

  return {
    url: base,
    origin,
    token,
    account,
    webhookSecret,
    state,
    faults,
    plan: (kind, plan) => plans[kind].push(plan),
    step: (id, ticks = 1) => {
      const jobs = id ? [byId.get(id)].filter((j): j is EmulatedJob => j !== undefined) : allJobs();
      for (const j of jobs) moveTo(j, j.sim.tick + ticks);
    },
    advance: (ms) => {
      offsetMs += ms;
      allJobs().forEach(syncClock);
    },
    now,
    webhooksIdle: async () => {
      while (pendingDeliveries.size > 0) await Promise.allSettled([...pendingDeliveries]);
    },
    close: async () => {
      closed = true;
      aborter.abort();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.allSettled([...pendingDeliveries]);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

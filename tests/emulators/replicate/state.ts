/**
 * The Replicate emulator's world: the clock, models, files, trainings and predictions, how jobs move
 * (polls, a clock or step()) through starting -> processing -> succeeded|failed|aborted, and the signed
 * webhooks they send. Routes (replicate/routes.ts) read and change it; tests read `state`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { signWebhook } from '../../../src/core/webhook.js';
import { PUBLISHED_SCHEMAS } from '../replicate-schemas.js';
import { FLUX_TRAINER_NAME, FLUX_TRAINER_OWNER, FLUX_TRAINER_VERSION, JOB_NAME, TERMINAL, errorText, lossAt, newId, pyExp, tqdmLine } from './wire.js';
import type { Drive, EmulatedJob, EmulatorState, JobPlan, JobStatus, ModelSeed, ReplicateEmulatorOptions, WebhookDelivery, WebhookEvent } from './types.js';

export type JobKind = 'training' | 'prediction';

/** What a new job is given by the request that makes it. */
export interface NewJobFields {
  model: string;
  version: string;
  input: Record<string, unknown>;
  webhook?: string;
  webhook_events_filter?: WebhookEvent[];
  destination?: string;
}

export interface ReplicateWorld {
  readonly options: ReplicateEmulatorOptions;
  readonly account: string;
  readonly webhookSecret: string;
  readonly maxFileBytes: number;
  readonly pageSize: number;
  readonly preferWaitUnitMs: number;
  /** `http://127.0.0.1:<port>`, and the API base under it. */
  readonly origin: string;
  readonly base: string;
  readonly state: EmulatorState;
  readonly byId: Map<string, EmulatedJob>;
  now(): number;
  iso(ms?: number): string;
  addModel(m: ModelSeed): void;
  /** A job as the API shows it (without the simulation fields). */
  render(job: EmulatedJob): Record<string, unknown>;
  finish(job: EmulatedJob, status: JobStatus): void;
  moveTo(job: EmulatedJob, tick: number): void;
  syncClock(job: EmulatedJob): void;
  onPoll(job: EmulatedJob): void;
  newJob(kind: JobKind, fields: NewJobFields, extra?: { trainerError?: string | null; imageCount?: number }): EmulatedJob;
  plan(kind: JobKind, plan: JobPlan): void;
  step(id?: string, ticks?: number): void;
  advance(ms: number): void;
  webhooksIdle(): Promise<void>;
  /** Stop the clock and webhook retries, and wait for deliveries in flight. */
  close(): Promise<void>;
}

export function createReplicateWorld(options: ReplicateEmulatorOptions, origin: string): ReplicateWorld {
  const base = `${origin}/v1`;
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
  const plans: Record<JobKind, JobPlan[]> = { training: [], prediction: [] };
  const pendingDeliveries = new Set<Promise<void>>();
  const timers = new Set<NodeJS.Timeout>();
  const aborter = new AbortController();
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

  return {
    options,
    account,
    webhookSecret,
    maxFileBytes,
    pageSize,
    preferWaitUnitMs,
    origin,
    base,
    state,
    byId,
    now,
    iso,
    addModel,
    render,
    finish,
    moveTo,
    syncClock,
    onPoll,
    newJob,
    plan: (kind, plan) => plans[kind].push(plan),
    step: (id, ticks = 1) => {
      const jobs = id ? [byId.get(id)].filter((j): j is EmulatedJob => j !== undefined) : allJobs();
      for (const j of jobs) moveTo(j, j.sim.tick + ticks);
    },
    advance: (ms) => {
      offsetMs += ms;
      allJobs().forEach(syncClock);
    },
    webhooksIdle: async () => {
      while (pendingDeliveries.size > 0) await Promise.allSettled([...pendingDeliveries]);
    },
    close: async () => {
      closed = true;
      aborter.abort();
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.allSettled([...pendingDeliveries]);
    },
  };
}

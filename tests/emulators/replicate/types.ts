/**
 * The Replicate emulator's public types: options, job plans, models, state, faults and the handle tests hold
 * (the server itself is tests/emulators/replicate.ts).
 */

export type JobStatus = 'starting' | 'processing' | 'succeeded' | 'failed' | 'canceled' | 'aborted';
export type WebhookEvent = 'start' | 'output' | 'logs' | 'completed';

/** How a job ends and how long it takes, in ticks. */
export interface JobPlan {
  /** Default 'succeeded'. 'aborted' ends the job before it starts (no started_at). */
  outcome?: 'succeeded' | 'failed' | 'aborted';
  /** The `error` string of a failed job. */
  error?: string;
  /** Progress ticks between "processing" and the end (each adds a tqdm redraw). Default 4 (training), 1 (prediction). */
  progressTicks?: number;
  /** Predictions only: whether `Prefer: wait` sees the job finish within the wait. Default true. */
  syncCompletes?: boolean;
}

/** What moves jobs forward. */
export type Drive =
  /** Every `pollsPerTick` GETs of a job move it one tick (default, pollsPerTick 1). */
  | { by: 'polls'; pollsPerTick?: number }
  /** One tick per `tickMs` of emulator clock (real time plus `advance(ms)`). */
  | { by: 'clock'; tickMs: number }
  /** Only `step()` moves jobs. */
  | { by: 'manual' };

export interface EmulatedModel {
  owner: string;
  name: string;
  /** Version ids, newest first. */
  versions: Array<{ id: string; created_at: string }>;
  /** Official models accept `POST /models/{owner}/{name}/predictions` and report version "hidden". */
  official: boolean;
  /** Trainer models accept trainings (their versions have `train()`). */
  trainable: boolean;
  visibility: 'public' | 'private';
  /** Every version's `openapi_schema` (null when the model publishes none); predictions are checked against it. */
  openapiSchema?: unknown;
}

/** A model to create at start: versions as ids (created now) or full records, newest first. */
export type ModelSeed = Omit<Partial<EmulatedModel>, 'versions'> & {
  owner: string;
  name: string;
  versions?: Array<{ id: string; created_at: string }> | string[];
};

export interface ReplicateEmulatorOptions {
  /** The accepted API token (Bearer or Token). Default `r8_emulator_token`. */
  token?: string;
  /** The account that owns destination models. Default `loraloop`. */
  account?: string;
  /** `whsec_...` signing secret. Default: random. */
  webhookSecret?: string;
  /** Files larger than this get 413. Default 100 MB (Replicate's limit). */
  maxFileBytes?: number;
  /** Page size of list endpoints. Default 100. */
  pageSize?: number;
  /** What moves jobs. Default `{ by: 'polls', pollsPerTick: 1 }`. */
  drive?: Drive;
  /** Base clock in ms since the epoch. Default Date.now. `advance(ms)` adds to it. */
  now?: () => number;
  /** Extra models (the flux trainer, `<account>/brand-loras` and two official FLUX models always exist). */
  models?: ModelSeed[];
  /** Default plan of trainings / predictions (per-job plans come from `plan()`). */
  trainingPlan?: JobPlan;
  predictionPlan?: JobPlan;
  /** Delays before re-sending a failed terminal webhook. Default [50, 100, 200] ms (Replicate: ~1 min total). */
  webhookRetryDelaysMs?: number[];
  /** Real ms held per second of `Prefer: wait=N` when a prediction does not finish in time. Default 5. */
  preferWaitUnitMs?: number;
  /**
   * Builds the `lora.safetensors` inside a training's weights tar. Default: an ai-toolkit FLUX PEFT LoRA
   * (tests/support/safetensors.ts, sampled blocks, F16, zeros) at the training's `lora_rank`: ~7 MB at rank 8.
   */
  buildLora?: (training: { rank: number; steps: number; triggerWord: string }) => Buffer;
}

/** A queued fault for the next matching requests. */
export interface FaultSpec {
  /**
   * - `rate_limit`: 429 + `Retry-After`, request not processed.
   * - `server_error`: 5xx, request not processed.
   * - `slow`: handled normally after `delayMs`.
   * - `late`: handled at once, answered after `delayMs` (the answer is already stale when it arrives).
   * - `cut`: handled normally (side effects happen!), then the socket is destroyed: the answer is lost.
   * - `drop`: the socket is destroyed before the request is processed.
   */
  kind: 'rate_limit' | 'server_error' | 'slow' | 'late' | 'cut' | 'drop';
  /** How many requests it applies to. Default 1. */
  times?: number;
  /** Only this method (e.g. 'POST'). */
  method?: string;
  /** Only paths equal to (string) or matching (RegExp) this, e.g. '/v1/trainings' or /\/trainings$/. */
  path?: string | RegExp;
  /** rate_limit: the raw `Retry-After` value, seconds ("1") or an HTTP date. Default "1". */
  retryAfter?: string;
  /** rate_limit: also send the `retry-after-ms` header (keeps tests fast). */
  retryAfterMs?: number;
  /** server_error: the status. Default 500. */
  status?: number;
  /** slow, late: delay before answering. Default 200 ms. */
  delayMs?: number;
}

export interface RequestLogEntry {
  method: string;
  /** Path without the query string, e.g. `/v1/trainings`. */
  path: string;
  query: string;
  /** Real wall-clock time the request arrived (Date.now). */
  at: number;
  /** Status answered, or 'cut'/'dropped' when the socket was destroyed. */
  status: number | 'cut' | 'dropped';
  fault?: FaultSpec['kind'];
  authorized: boolean;
}

export interface WebhookDelivery {
  /** `webhook-id`, the same across retries. */
  id: string;
  url: string;
  event: WebhookEvent;
  objectId: string;
  kind: 'training' | 'prediction';
  /** The exact body sent. */
  body: string;
  attempts: number;
  /** Each attempt's status, or an error string. */
  responses: Array<number | string>;
  state: 'pending' | 'delivered' | 'failed';
}

export interface EmulatedFile {
  object: FileObject;
  filename: string;
  bytes: Buffer;
}

export interface FileObject {
  id: string;
  content_type: string;
  size: number;
  checksums: { sha256: string };
  metadata: Record<string, unknown>;
  created_at: string;
  expires_at: string | null;
  urls: { get: string };
}

/** The wire object of a training or prediction, plus the emulator's bookkeeping in `sim` (never sent). */
export interface EmulatedJob {
  kind: 'training' | 'prediction';
  id: string;
  model: string;
  version: string;
  input: Record<string, unknown>;
  status: JobStatus;
  output: unknown;
  error: string | null;
  logs: string;
  metrics: Record<string, number>;
  source: 'api';
  created_at: string;
  started_at: string | null;
  completed_at: string | null;
  webhook?: string;
  webhook_events_filter?: WebhookEvent[];
  destination?: string;
  data_removed?: boolean;
  urls: Record<string, string>;
  sim: {
    tick: number;
    polls: number;
    createdMs: number;
    startedMs: number | null;
    plan: Required<Omit<JobPlan, 'error'>> & { error: string };
    /** Why the trainer itself fails (bad zip...), decided at creation. */
    trainerError: string | null;
    imageCount: number;
  };
}

export interface EmulatorState {
  trainings: EmulatedJob[];
  predictions: EmulatedJob[];
  files: EmulatedFile[];
  models: Map<string, EmulatedModel>;
  requests: RequestLogEntry[];
  webhooks: WebhookDelivery[];
}

export interface FaultController {
  add(spec: FaultSpec): void;
  clear(): void;
  /** Faults not yet used up. */
  readonly pending: ReadonlyArray<FaultSpec & { remaining: number }>;
}

export interface ReplicateEmulator {
  /** API base including /v1, as the client's `baseUrl` takes it. */
  url: string;
  /** Server origin (deliveries live under `${origin}/delivery/`). */
  origin: string;
  token: string;
  account: string;
  webhookSecret: string;
  state: EmulatorState;
  faults: FaultController;
  /** Plan the next created training or prediction (queue; falls back to the default plan). */
  plan(kind: 'training' | 'prediction', plan: JobPlan): void;
  /** Move jobs forward by `ticks` (all non-terminal jobs, or one by id). Works in every drive mode. */
  step(id?: string, ticks?: number): void;
  /** Move the emulator clock forward (timestamps; clock-driven jobs). */
  advance(ms: number): void;
  /** Current emulator clock in ms. */
  now(): number;
  /** Resolves when no webhook delivery or retry is pending. */
  webhooksIdle(): Promise<void>;
  close(): Promise<void>;
}

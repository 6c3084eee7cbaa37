/**
 * The Replicate image backend (CONTRACTS.md §2.1-2.3, TRAINERS.md §3a).
 *
 * Which model runs:
 * - A LoRA with a trained Replicate version (`owner/model:version`, what the FLUX trainer produces) runs on
 *   that version; its strength goes in `lora_scale`. A second LoRA with a weights URL rides along as
 *   `extra_lora` / `extra_lora_scale` (the trained model's predict.py inputs).
 * - A LoRA with only a weights URL runs on the FLUX LoRA runner model (`LORALOOP_REPLICATE_MODEL`, default
 *   `black-forest-labs/flux-dev-lora`) with `lora_weights` and `lora_scale`.
 * - No LoRA: the runner model alone.
 *
 * The two speak different inputs (replicate-inputs.ts, checked against their published source in
 * tests/cover/replicate-schema.test.ts), and with a logger each version's live openapi_schema is fetched before
 * its first prediction and every input it does not take is logged as a warning (replicate-schema.ts).
 *
 * The prediction is created with `Prefer: wait` (sync mode, up to 60 s); if it is not finished by then it is
 * polled. `succeeded` downloads the output files; `failed`, `canceled` and `aborted` are final (the official
 * client's `wait` forgets `aborted` and would poll forever, so we poll ourselves).
 */
import type Replicate from 'replicate';
import sharp from 'sharp';
import { z } from 'zod';
import { LoraloopError, isLoraloopError } from '../../core/errors.js';
import { defaultSleep } from '../../core/retry.js';
import { isTerminal, parseModelRef, replicatePredictionSchema, type ReplicatePrediction } from '../../clients/replicate.js';
import type { Logger } from '../../core/logger.js';
import { createSchemaChecker } from '../../clients/replicate-schema.js';
import { GUIDANCE_INPUT, LORA_SCALE_RANGE, MAX_REPLICATE_STEPS, sizeInputs, type ReplicateDialect } from './replicate-inputs.js';
import type { GenerateRequest, GenerateResult, ImageBackend, LoraRef } from './types.js';

/** Default FLUX LoRA runner: takes `lora_weights` (URL) and `lora_scale`. */
export const DEFAULT_REPLICATE_RUNNER = 'black-forest-labs/flux-dev-lora';

/** Where a LoRA lives on Replicate: a trained model version, a weights URL, or both. */
export interface ReplicateLoraTarget {
  /** `owner/model:version` of a trained LoRA model. */
  version?: string | null;
  /** URL of the LoRA weights (.safetensors or the trainer's .tar). */
  weights_url?: string | null;
}

/** `providerOptions.replicate`. */
export const ReplicateProviderOptionsSchema = z.object({
  model: z.string().optional().describe('Run this model (owner/name or owner/name:version) instead of the one the LoRAs imply'),
  loras: z
    .record(z.string(), z.object({ version: z.string().nullish(), weights_url: z.string().nullish() }))
    .optional()
    .describe('Where each requested LoRA lives on Replicate, by LoRA name (overrides the resolver)'),
  input: z.record(z.string(), z.unknown()).optional().describe('Extra model inputs, sent as given'),
});
export type ReplicateProviderOptions = z.infer<typeof ReplicateProviderOptionsSchema>;

/** Options of {@link createReplicateBackend}. */
export interface ReplicateBackendOptions {
  /** An official client from `createReplicateClient` (retrying fetch, lazy token). */
  client: Replicate;
  /** The FLUX LoRA runner (owner/name or owner/name:version). Default {@link DEFAULT_REPLICATE_RUNNER}. */
  runner?: string;
  /** Where a LoRA name lives on Replicate (the registry); undefined when unknown. */
  resolveLora?: (name: string, version?: number) => Promise<ReplicateLoraTarget | undefined>;
  /** Downloads output files (no token is sent: outputs live on replicate.delivery). */
  fetch?: typeof fetch;
  /** Seconds of `Prefer: wait` (1..60, default 60). */
  waitSeconds?: number;
  /** Poll interval after the sync window (default 1000 ms). */
  pollIntervalMs?: number;
  /**
   * Where differences between our inputs and the model version's live input schema are logged (warnings). With a
   * logger, the schema is fetched (once per version) before each first prediction on it; without one, not at all.
   */
  logger?: Logger;
  /** Give up (and cancel) after this long (default 10 minutes). */
  timeoutMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

interface Plan {
  /** `{version}` for /predictions, `{model}` for /models/{owner}/{name}/predictions. */
  target: { version: string } | { model: string };
  input: Record<string, unknown>;
  ref: string;
  /** LoRAs actually sent (others became warnings). */
  applied: Array<{ name: string; strength: number }>;
}

/** Turn the client's ApiError (or a fetch failure) into a sentence with a code. */
function upstream(e: unknown, what: string): LoraloopError {
  if (isLoraloopError(e)) return e;
  const status = (e as { response?: { status?: number } } | undefined)?.response?.status;
  const message = e instanceof Error ? e.message : String(e);
  if (status === 401 || status === 403) {
    return new LoraloopError('NOT_CONFIGURED', `Replicate refused the token while ${what} (HTTP ${status}).`, {
      hint: 'Check REPLICATE_API_TOKEN.',
      cause: e,
    });
  }
  if (status === 404 || status === 422) {
    return new LoraloopError('INVALID_INPUT', `Replicate rejected the request while ${what}: ${message}`, {
      hint: 'Check the model version and inputs (the LoRA version may have been deleted).',
      cause: e,
    });
  }
  if (status === 429) return new LoraloopError('UPSTREAM_RATE_LIMITED', `Replicate is rate-limiting us while ${what}.`, { hint: 'Try again in a minute.', cause: e });
  return new LoraloopError(status === undefined ? 'UPSTREAM_UNREACHABLE' : 'UPSTREAM_ERROR', `Replicate failed while ${what}: ${message}`, { cause: e });
}

/** Create the backend. No I/O until `generate`. */
export function createReplicateBackend(opts: ReplicateBackendOptions): ImageBackend {
  const runner = opts.runner ?? DEFAULT_REPLICATE_RUNNER;
  const sleep = opts.sleep ?? defaultSleep;
  const now = opts.now ?? Date.now;
  const doFetch = opts.fetch ?? globalThis.fetch;
  const waitSeconds = Math.max(1, Math.min(60, Math.round(opts.waitSeconds ?? 60)));
  const pollMs = opts.pollIntervalMs ?? 1000;
  const timeoutMs = opts.timeoutMs ?? 10 * 60_000;

  const schemas = opts.logger ? createSchemaChecker(opts.client, opts.logger) : undefined;

  const targetOf = (ref: string): Plan['target'] => {
    const m = parseModelRef(ref);
    return m.version ? { version: `${m.owner}/${m.name}:${m.version}` } : { model: `${m.owner}/${m.name}` };
  };

  async function plan(req: GenerateRequest, po: ReplicateProviderOptions, warnings: string[]): Promise<Plan> {
    const input: Record<string, unknown> = { prompt: req.prompt, seed: req.seed, num_outputs: 1, output_format: 'png' };
    if (req.negativePrompt) warnings.push('FLUX models on Replicate take no negative prompt; it was left out.');
    if (req.checkpoint) warnings.push(`Replicate runs a fixed base model; checkpoint "${req.checkpoint}" was ignored.`);
    if (req.sampler || req.scheduler) warnings.push('Replicate FLUX models choose their own sampler and scheduler; the requested ones were ignored.');

    const located: Array<Omit<LoraRef, 'version'> & { version: string | null; weights_url: string | null }> = [];
    for (const l of req.loras ?? []) {
      const where = po.loras?.[l.name] ?? (await opts.resolveLora?.(l.name, l.version));
      if (!where || (!where.version && !where.weights_url)) {
        throw new LoraloopError('NOT_FOUND', `LoRA "${l.name}" has no Replicate version or weights URL, so Replicate cannot use it.`, {
          hint: 'Train it on Replicate (lora_train), or use the comfyui backend that has the file.',
        });
      }
      located.push({ ...l, version: where.version ?? null, weights_url: where.weights_url ?? null });
    }
    const trained = located.find((l) => l.version);
    let ref = po.model ?? runner;
    let rest = located;
    if (po.model === undefined && trained?.version) {
      ref = trained.version;
      input.lora_scale = trained.strength;
      rest = located.filter((l) => l !== trained);
      const extra = rest.find((l) => l.weights_url);
      if (extra?.weights_url) {
        input.extra_lora = extra.weights_url;
        input.extra_lora_scale = extra.strength;
        rest = rest.filter((l) => l !== extra);
      }
    } else {
      const first = rest.find((l) => l.weights_url);
      if (first?.weights_url) {
        input.lora_weights = first.weights_url;
        input.lora_scale = first.strength;
        rest = rest.filter((l) => l !== first);
      }
    }
    for (const l of rest) warnings.push(`Replicate takes at most two LoRAs per prediction here; "${l.name}" was not applied.`);
    const applied = located.filter((l) => !rest.includes(l)).map((l) => ({ name: l.name, strength: l.strength }));
    // A trained version speaks flux-fine-tuner's predict.py; anything else is taken for the LoRA runner (replicate-inputs.ts).
    const dialect: ReplicateDialect = po.model === undefined && trained?.version ? 'trained' : 'lora-runner';
    const [lo, hi] = LORA_SCALE_RANGE[dialect];
    for (const l of located) {
      if (l.strength < lo || l.strength > hi) warnings.push(`LoRA "${l.name}" strength ${l.strength} is outside ${lo}..${hi}, what this Replicate model takes; it may be refused.`);
    }
    Object.assign(input, sizeInputs(dialect, req.width, req.height, warnings));
    if (req.steps !== undefined) {
      input.num_inference_steps = Math.min(req.steps, MAX_REPLICATE_STEPS);
      if (req.steps > MAX_REPLICATE_STEPS) warnings.push(`Replicate's FLUX models take at most ${MAX_REPLICATE_STEPS} steps; used ${MAX_REPLICATE_STEPS}.`);
    }
    if (req.cfg !== undefined) input[GUIDANCE_INPUT[dialect]] = req.cfg;
    Object.assign(input, po.input ?? {});
    return { target: targetOf(ref), input, ref, applied };
  }

  async function download(url: string, signal: AbortSignal | undefined): Promise<Buffer> {
    let res: Response;
    try {
      res = await doFetch(url, signal ? { signal } : {});
    } catch (e) {
      throw new LoraloopError('UPSTREAM_UNREACHABLE', `Could not download the Replicate output ${url}: ${(e as Error).message}`, { cause: e });
    }
    if (!res.ok) {
      throw new LoraloopError('UPSTREAM_ERROR', `Downloading the Replicate output ${url} answered HTTP ${res.status}.`, {
        hint: 'Outputs are removed about an hour after the prediction; generate again.',
      });
    }
    const bytes = Buffer.from(await res.arrayBuffer());
    try {
      // Models may answer webp or jpg whatever we asked; everything downstream takes PNG.
      return await sharp(bytes).png().toBuffer();
    } catch (e) {
      throw new LoraloopError('UPSTREAM_ERROR', `The Replicate output ${url} is not an image.`, { cause: e });
    }
  }

  const parse = (raw: unknown): ReplicatePrediction => {
    const r = replicatePredictionSchema.safeParse(raw);
    if (!r.success) throw new LoraloopError('UPSTREAM_ERROR', `Replicate answered a prediction we cannot read: ${r.error.issues[0]?.message ?? 'bad shape'}.`);
    return r.data;
  };

  async function cancel(id: string): Promise<void> {
    try {
      await opts.client.predictions.cancel(id);
    } catch {
      // Best effort: the prediction times out on Replicate's side anyway.
    }
  }

  async function generate(req: GenerateRequest): Promise<GenerateResult> {
    const warnings: string[] = [];
    const poRaw = req.providerOptions?.replicate;
    const poParsed = ReplicateProviderOptionsSchema.safeParse(poRaw ?? {});
    if (!poParsed.success) {
      const i = poParsed.error.issues[0];
      throw new LoraloopError('INVALID_INPUT', `providerOptions.replicate.${i?.path.join('.') ?? ''}: ${i?.message ?? 'invalid'}.`);
    }
    const p = await plan(req, poParsed.data, warnings);
    if (schemas) {
      const m = parseModelRef(p.ref);
      await schemas.check({ owner: m.owner, name: m.name, version: m.version }, 'Input', p.input);
    }
    const signal = req.abortSignal;
    if (signal?.aborted) throw new LoraloopError('CANCELED', 'Generation canceled before the prediction was created.');
    const started = now();
    let pred: ReplicatePrediction;
    try {
      pred = parse(await opts.client.predictions.create({ ...p.target, input: p.input, wait: waitSeconds }));
    } catch (e) {
      throw upstream(e, `creating a prediction on ${p.ref}`);
    }
    let failures = 0;
    while (!isTerminal(pred.status)) {
      if (signal?.aborted) {
        await cancel(pred.id);
        throw new LoraloopError('CANCELED', `Generation canceled; Replicate prediction ${pred.id} was canceled.`);
      }
      if (now() - started > timeoutMs) {
        await cancel(pred.id);
        throw new LoraloopError('TIMEOUT', `Replicate prediction ${pred.id} did not finish within ${Math.round(timeoutMs / 1000)} s; it was canceled.`, {
          hint: 'The model may be cold-booting; try again.',
        });
      }
      if (pred.status === 'processing' && Array.isArray(pred.output) && pred.output.length > 0 && typeof pred.output[0] === 'string') {
        // Sync mode may answer as soon as the files exist, before the status turns succeeded (§2.1).
        break;
      }
      try {
        await sleep(pollMs, signal);
      } catch {
        continue; // aborted during the sleep: the loop top cancels
      }
      try {
        pred = parse(await opts.client.predictions.get(pred.id));
        failures = 0;
      } catch (e) {
        failures += 1;
        if (failures >= 3) throw upstream(e, `polling prediction ${pred.id}`);
      }
    }
    if (pred.status === 'failed') {
      throw new LoraloopError('JOB_FAILED', `Replicate prediction ${pred.id} failed: ${typeof pred.error === 'string' ? pred.error : 'no reason given'}.`, {
        details: { prediction: pred.id },
      });
    }
    if (pred.status === 'canceled' || pred.status === 'aborted') {
      throw new LoraloopError(signal?.aborted ? 'CANCELED' : 'JOB_FAILED', `Replicate prediction ${pred.id} ended ${pred.status}${typeof pred.error === 'string' && pred.error ? `: ${pred.error}` : ''}.`, {
        hint: pred.status === 'aborted' ? 'It was stopped before it started (a deadline passed); generate again.' : 'Someone canceled it; generate again.',
        details: { prediction: pred.id },
      });
    }
    const urls = (Array.isArray(pred.output) ? pred.output : [pred.output]).filter((u): u is string => typeof u === 'string');
    if (urls.length === 0) {
      throw new LoraloopError('JOB_FAILED', `Replicate prediction ${pred.id} succeeded without an output file${pred.data_removed ? ' (its data was already removed)' : ''}.`);
    }
    const images = [];
    for (const url of urls) {
      images.push({
        png: await download(url, signal),
        meta: {
          provider: 'replicate',
          server: 'replicate',
          prediction: pred.id,
          model: p.ref,
          input: Object.fromEntries(Object.entries(p.input).filter(([k]) => k !== 'prompt')),
          seed: req.seed,
          baseModel: 'flux',
          checkpoint: p.ref,
          loras: p.applied,
          output_url: url,
          elapsedMs: now() - started,
        },
      });
    }
    return { images, warnings };
  }

  return { provider: 'replicate', modelId: runner, generate };
}

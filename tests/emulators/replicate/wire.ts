/**
 * The Replicate emulator's wire helpers (CONTRACTS.md §2): ids, JSON and problem+json replies, ai-toolkit tqdm
 * log lines, the weights tar, and the trainer's input validation answered like Replicate's 422.
 */
import { randomBytes } from 'node:crypto';
import { packTar } from 'modern-tar';
import { buildAiToolkitFluxLora } from '../../support/safetensors.js';
import type { JobStatus, WebhookEvent } from './types.js';

// ---- constants -------------------------------------------------------------------------------------------

export const FLUX_TRAINER_OWNER = 'ostris';
export const FLUX_TRAINER_NAME = 'flux-dev-lora-trainer';
/** The pinned trainer version (DEFAULT_REPLICATE_TRAINER in src/core/config.ts). */
export const FLUX_TRAINER_VERSION = '26dce37af90b9d997eeb970d92e47de3064d46c300504ae376c75bef6a9022d2';
export const DEFAULT_EMULATOR_TOKEN = 'r8_emulator_token';
export const JOB_NAME = 'flux_train_replicate';
export const TERMINAL: ReadonlySet<JobStatus> = new Set(['succeeded', 'failed', 'canceled', 'aborted']);
export const EVENTS: readonly WebhookEvent[] = ['start', 'output', 'logs', 'completed'];
export const MAX_JSON_BYTES = 10 * 1024 * 1024;

// ---- ids, replies, tqdm lines, tar, safetensors ----------------------------------------------------------

/** Replicate-like id: 26 chars of lowercase base32. */
export function newId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  const bytes = randomBytes(26);
  let s = '';
  for (const b of bytes) s += alphabet[b % 32];
  return s;
}

/** A request body read up to a cap; `overflow` when it was larger (the rest was drained). */
export interface Body {
  bytes: Buffer;
  overflow: boolean;
}

export interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

export function json(status: number, value: unknown, headers: Record<string, string> = {}): Reply {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(value) };
}

export function problem(status: number, title: string, detail: string, extra: Record<string, unknown> = {}): Reply {
  return {
    status,
    headers: { 'content-type': 'application/problem+json' },
    body: JSON.stringify({ type: 'about:blank', title, status, detail, ...extra }),
  };
}

/** Python's `{:.1e}` / `{:.3e}`: the exponent has at least two digits. */
export function pyExp(x: number, digits: number): string {
  return x.toExponential(digits).replace(/e([+-])(\d)$/, 'e$10$2');
}

export function clockText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${String(m).padStart(2, '0')}:${ss}`;
}

export function tqdmBar(frac: number, width = 10): string {
  const parts = ' ▏▎▍▌▋▊▉';
  const cells = frac * width;
  const full = Math.floor(cells);
  let bar = '█'.repeat(full);
  if (full < width) {
    const partial = parts[Math.floor((cells - full) * 8)] ?? ' ';
    bar += partial;
  }
  return bar.padEnd(width, ' ');
}

/** One tqdm redraw, e.g. `flux_train_replicate:  10%|█         | 100/1000 [01:14<11:07,  1.35it/s, lr: 4.0e-04 loss: 3.456e-01]`. */
export function tqdmLine(desc: string, n: number, total: number, postfix?: string, rate = 1.35): string {
  const frac = total > 0 ? n / total : 0;
  const pct = String(Math.round(frac * 100)).padStart(3, ' ');
  if (n === 0) return `${desc}: ${pct}%|${tqdmBar(0)}| ${n}/${total} [00:00<?, ?it/s]`;
  const timing = `${clockText(n / rate)}<${clockText((total - n) / rate)}, ${rate.toFixed(2).padStart(5, ' ')}it/s`;
  return `${desc}: ${pct}%|${tqdmBar(frac)}| ${n}/${total} [${timing}${postfix ? `, ${postfix}` : ''}]`;
}

export function lossAt(frac: number, seed: number): number {
  // Decreasing with a little deterministic wobble, like a real flow-matching loss curve.
  return 0.45 - 0.2 * frac + 0.02 * Math.sin(seed + frac * 17);
}

/** The weights archive, ustar like Python's tarfile writes it: directories and regular files owned by root. */
export async function buildTar(entries: Array<{ name: string; data?: Buffer }>, mtimeSeconds: number): Promise<Buffer> {
  const common = { mtime: new Date(mtimeSeconds * 1000), uname: 'root', gname: 'root' };
  const tar = await packTar(
    entries.map((e) =>
      e.data === undefined
        ? { header: { ...common, name: e.name, type: 'directory' as const, size: 0, mode: 0o755 } }
        : { header: { ...common, name: e.name, size: e.data.length, mode: 0o644 }, body: e.data },
    ),
  );
  return Buffer.from(tar.buffer, tar.byteOffset, tar.byteLength);
}

/** ai-toolkit's FLUX LoRA as Replicate's trainer saves it (PEFT names, float16, job name flux_train_replicate). */
export function defaultLora(t: { rank: number; steps: number; triggerWord: string }): Buffer {
  return buildAiToolkitFluxLora({
    rank: t.rank,
    sample: true,
    dtype: 'F16',
    name: JOB_NAME,
    trigger: t.triggerWord,
    metadata: { training_info: JSON.stringify({ step: t.steps, epoch: 0 }) },
  });
}

export function errorText(e: unknown): string {
  if (e instanceof Error) {
    const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
    return `${e.message}${cause}`;
  }
  return String(e);
}

// ---- trainer input validation (TRAINERS.md §3a), answered like Replicate's 422 ----------------------------

export const OPTIMIZERS = ['prodigy', 'adam8bit', 'adamw8bit', 'lion8bit', 'adam', 'adamw', 'lion', 'adagrad', 'adafactor'];

export function validateTrainerInput(input: Record<string, unknown>): string[] {
  const errs: string[] = [];
  const int = (k: string, min: number, max: number) => {
    const v = input[k];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isInteger(v)) errs.push(`${k}: Input should be a valid integer`);
    else if (v < min) errs.push(`${k}: Input should be greater than or equal to ${min}`);
    else if (v > max) errs.push(`${k}: Input should be less than or equal to ${max}`);
  };
  const num = (k: string, min: number, max: number) => {
    const v = input[k];
    if (v === undefined) return;
    if (typeof v !== 'number' || !Number.isFinite(v)) errs.push(`${k}: Input should be a valid number`);
    else if (v < min || v > max) errs.push(`${k}: Input should be between ${min} and ${max}`);
  };
  const str = (k: string) => {
    const v = input[k];
    if (v !== undefined && typeof v !== 'string') errs.push(`${k}: Input should be a valid string`);
  };
  const bool = (k: string) => {
    const v = input[k];
    if (v !== undefined && typeof v !== 'boolean') errs.push(`${k}: Input should be a valid boolean`);
  };
  if (input['input_images'] === undefined && input['skip_training_and_use_pretrained_hf_lora_url'] === undefined) {
    errs.push('input_images: Field required');
  }
  str('input_images');
  str('trigger_word');
  str('resolution');
  str('autocaption_prefix');
  str('autocaption_suffix');
  bool('autocaption');
  bool('cache_latents_to_disk');
  bool('gradient_checkpointing');
  int('steps', 3, 6000);
  int('lora_rank', 1, 128);
  int('batch_size', 1, 64);
  num('learning_rate', 0, 1);
  num('caption_dropout_rate', 0, 1);
  const opt = input['optimizer'];
  if (opt !== undefined && (typeof opt !== 'string' || !OPTIMIZERS.includes(opt))) {
    errs.push(`optimizer: Input should be one of ${OPTIMIZERS.map((o) => `'${o}'`).join(', ')}`);
  }
  return errs;
}

export function invalidInput(errors: string[]): Reply {
  return problem(422, 'Input validation failed', errors.map((e) => `- input.${e}`).join('\n') + '\n', {
    invalid_fields: errors.map((e) => {
      const [field, ...rest] = e.split(': ');
      return { type: 'invalid', field: `input.${field ?? ''}`, description: rest.join(': ') };
    }),
  });
}

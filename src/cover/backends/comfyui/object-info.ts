/**
 * Reading `GET /object_info` (CONTRACTS.md §1.6): which checkpoints, LoRAs, samplers and schedulers a ComfyUI
 * server has, and matching a requested name against them the way a person means it.
 */
import { z } from 'zod';
import { LoraloopError } from '../../../core/errors.js';

/** One node class as `/object_info` describes it. Only the keys we read are typed; the rest pass through. */
export const NodeInfoSchema = z.looseObject({
  input: z
    .looseObject({
      required: z.record(z.string(), z.unknown()).optional(),
      optional: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
  output: z.array(z.unknown()).optional(),
  output_node: z.boolean().optional(),
  name: z.string().optional(),
});

/** `/object_info` answer: class name -> NodeInfo (an unknown class under `/object_info/{cls}` gives `{}`). */
export const ObjectInfoSchema = z.record(z.string(), NodeInfoSchema);
export type ObjectInfo = z.infer<typeof ObjectInfoSchema>;

/** File extensions ComfyUI accepts for model files (`folder_paths.supported_pt_extensions`). */
export const MODEL_EXTENSIONS = ['.safetensors', '.ckpt', '.pt', '.pt2', '.bin', '.pth', '.pkl', '.sft'] as const;

/**
 * The allowed values of a combo input, in either shape:
 * V1 `[[values...], {...}]` or V3 `["COMBO", {options: [...]}]`. Undefined when the class or input is
 * missing or the input is not a combo.
 */
export function comboOptions(info: ObjectInfo, cls: string, input: string): string[] | undefined {
  const node = info[cls];
  const entry = node?.input?.required?.[input] ?? node?.input?.optional?.[input];
  if (!Array.isArray(entry)) return undefined;
  const [first, second] = entry as unknown[];
  if (Array.isArray(first)) return first.map((v) => String(v));
  if (first === 'COMBO' && second !== null && typeof second === 'object') {
    const options = (second as { options?: unknown }).options;
    if (Array.isArray(options)) return options.map((v) => String(v));
  }
  return undefined;
}

/** What kind of thing a name is, for messages. */
export type NameKind = 'checkpoint' | 'LoRA' | 'sampler' | 'scheduler' | 'diffusion model' | 'text encoder' | 'VAE';

const norm = (s: string): string => s.replace(/\\/g, '/');
const base = (s: string): string => norm(s).split('/').pop() ?? s;
const hasModelExt = (s: string): boolean => MODEL_EXTENSIONS.some((e) => s.toLowerCase().endsWith(e));

/** Show at most `max` names, then "and N more", so a server with 2000 LoRAs still gives a readable sentence. */
export function listForMessage(names: readonly string[], max = 25): string {
  if (names.length === 0) return '(none)';
  const shown = names.slice(0, max).join(', ');
  return names.length > max ? `${shown} and ${names.length - max} more` : shown;
}

/**
 * Find the server's exact spelling of a requested model file name. In order:
 * exact; same path with either separator (the server lists `sub\x` on Windows); the same with a model
 * extension added when the request has none; a unique base-name match (`x.safetensors` finds
 * `sub/x.safetensors`); a unique case-insensitive match of any of these. A name that matches several
 * files, or none, is refused with the list so the caller can pick.
 */
export function resolveModelName(
  requested: string,
  available: readonly string[],
  kind: NameKind,
  server: string,
): string {
  const exact = available.find((a) => a === requested);
  if (exact !== undefined) return exact;
  const candidates = hasModelExt(requested) ? [requested] : MODEL_EXTENSIONS.map((e) => requested + e);
  const tiers: Array<(a: string, c: string) => boolean> = [
    (a, c) => norm(a) === norm(c),
    (a, c) => !/[\\/]/.test(c) && base(a) === c,
    (a, c) => norm(a).toLowerCase() === norm(c).toLowerCase(),
    (a, c) => !/[\\/]/.test(c) && base(a).toLowerCase() === c.toLowerCase(),
  ];
  for (const tier of tiers) {
    const hits = available.filter((a) => candidates.some((c) => tier(a, c)));
    if (hits.length === 1 && hits[0] !== undefined) return hits[0];
    if (hits.length > 1) {
      throw new LoraloopError('INVALID_INPUT', `The ${kind} name "${requested}" matches several files on ComfyUI at ${server}: ${listForMessage(hits)}.`, {
        hint: 'Give the full name with its folder, exactly as listed.',
        details: { kind, requested, matches: hits },
      });
    }
  }
  throw notFound(kind, requested, available, server);
}

/** Resolve a sampler or scheduler name: these are plain identifiers, so only exact (then case-insensitive) match. */
export function resolveIdentifier(requested: string, available: readonly string[], kind: NameKind, server: string): string {
  const hit = available.find((a) => a === requested) ?? available.find((a) => a.toLowerCase() === requested.toLowerCase());
  if (hit !== undefined) return hit;
  throw notFound(kind, requested, available, server);
}

function notFound(kind: NameKind, requested: string, available: readonly string[], server: string): LoraloopError {
  const where = kind === 'LoRA' ? 'models/loras' : kind === 'checkpoint' ? 'models/checkpoints' : undefined;
  return new LoraloopError(
    'NOT_FOUND',
    `ComfyUI at ${server} has no ${kind} "${requested}". It has: ${listForMessage(available)}.`,
    {
      hint: where ? `Use one of those names, or copy the file into ${where} on that server.` : 'Use one of those names.',
      details: { kind, requested, available: available.slice(0, 200) },
    },
  );
}

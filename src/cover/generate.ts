/**
 * One image request, from a title (or a prompt) to what a backend needs: the coin, the LoRAs, and the prompt.
 *
 * LoRAs: the caller's list when given; otherwise the title's coin LoRA from routing, then auto-discovered
 * LoRAs (discover.ts) for the prompt, up to 3, all of the checkpoint's family.
 *
 * Prompt template for image models (the title itself is never sent as text to draw: diffusion models garble
 * lettering, and the real title is composited afterwards):
 *
 *   "<trigger words>, <coin name> (<TICKER>) cryptocurrency, <subject>, editorial news cover illustration,
 *    cinematic lighting, clean composition, empty space for a headline, no text"
 *
 * where <subject> is the caller's `prompt`, or else the title's keywords without the coin names. Trigger words
 * come first so every applied LoRA is activated (TRAINERS.md §2 item 1). The negative prompt asks for no text
 * and, unless a logo or coin LoRA is applied, no logo: the correct logo is composited by us, and a model's
 * invented one would contradict it.
 */
import { copyFileSync } from 'node:fs';
import sharp from 'sharp';
import { LoraloopError, isLoraloopError } from '../core/errors.js';
import type { Store } from '../store/index.js';
import type { CoinCatalogue } from './coins/catalogue.js';
import type { CoinDetector } from './coins/detect.js';
import type { LoraResolver } from './lora-resolver.js';
import type { CoverRecord } from '../store/repos/covers.js';
import type { BaseModelName } from '../store/repos/loras.js';
import type { BackendName, BackendRegistry, GenerationOptions } from './backends/registry.js';
import { runPool } from './backends/pool.js';
import type { BaseModel, GenerateResult, LoraRef } from './backends/types.js';
import { fuzzyMatchModel } from './checkpoints.js';
import { discoverLoras, usableVersion, words, type DiscoverResult } from './discover.js';
import { makeCover, validateTitle, type CoverMade, type MakeCoverDeps } from './local-cover.js';
import { extractPalette } from '../image/palette.js';
import { routeCover, type RouteResult } from './route.js';

/** A LoRA planned for an image, and why. */
export interface PlannedLora extends LoraRef {
  /** given (by the caller), route (the coin's active LoRA) or discover (auto-LoRA). */
  source: 'given' | 'route' | 'discover';
  trigger_words: string[];
  /** Registry version, when the LoRA is in the registry. */
  version?: number;
  asset_type?: string;
}

/** Everything about an image request except checkpoint, seed and size. */
export interface ImagePlan {
  title: string | null;
  subtitle: string | null;
  route: RouteResult | null;
  primary: { symbol: string; name: string } | null;
  /** What LoRA-combination learning is keyed on: the coin ticker, else `style:<style>`, else `general`. */
  scope: string;
  prompt: string;
  negative_prompt: string;
  loras: PlannedLora[];
  discovered: DiscoverResult | null;
  /** Sentences for the reasoning. */
  notes: string[];
}

/** What planning an image needs: coin detection and names, and the LoRA registry (routing, and the rows a named LoRA is read from). */
export interface PlanDeps {
  coins: { detector: CoinDetector; catalogue: CoinCatalogue };
  loraResolver: LoraResolver;
  store: Pick<Store, 'loras'>;
}

/** What generating one image needs: the backends and the pool's tuning. */
export interface GenerateDeps {
  backends: BackendRegistry;
  generationOptions: GenerationOptions;
}

export interface PlanInput {
  title?: string | undefined;
  subtitle?: string | undefined;
  /** Subject for the image model; replaces the title keywords. */
  prompt?: string | undefined;
  backend: BackendName;
  /** Explicit LoRAs (registry names or server file names); disables routing's and discovery's choice. */
  loras?: Array<{ name: string; strength: number; version?: number | undefined }> | undefined;
  /** Family of the checkpoint (LoRAs of other families are left out). */
  baseModel?: BaseModel | undefined;
  style?: string | undefined;
  /** Auto-discover LoRAs (default true). */
  autoLora?: boolean;
  /** At most this many LoRAs (default 3). */
  maxLoras?: number;
}

const SUFFIX = 'editorial news cover illustration, cinematic lighting, clean composition, empty space for a headline, no text';
const NEGATIVE = 'text, letters, words, caption, watermark, signature, blurry, lowres, jpeg artifacts, deformed';

/** The image-model prompt (see the file comment for the template). */
export function buildImagePrompt(p: {
  triggers: string[];
  coin: { symbol: string; name: string } | null;
  subject: string;
  logoLora: boolean;
}): { prompt: string; negative_prompt: string } {
  const coin = p.coin ? `${p.coin.name} (${p.coin.symbol}) cryptocurrency` : 'cryptocurrency';
  const parts = [p.triggers.join(', '), coin, p.subject.trim(), SUFFIX].filter((x) => x.length > 0);
  return { prompt: parts.join(', '), negative_prompt: p.logoLora ? NEGATIVE : `${NEGATIVE}, logo, emblem` };
}

/** The title's words without stop words and coin names: the subject of the picture. */
function subjectOf(title: string, coin: { symbol: string; name: string } | null): string {
  const drop = new Set(coin ? [...words(coin.name), coin.symbol.toLowerCase()] : []);
  return words(title)
    .filter((w) => !drop.has(w))
    .slice(0, 10)
    .join(' ');
}

/** Plan an image request: route, choose LoRAs, build the prompt. */
export async function planImage(s: PlanDeps, input: PlanInput): Promise<ImagePlan> {
  if (!input.title?.trim() && !input.prompt?.trim()) {
    throw new LoraloopError('INVALID_INPUT', 'Give a title (for a cover) or a prompt (for the image).', { hint: 'Pass the article headline as title.' });
  }
  const title = input.title?.trim() ? validateTitle(input.title) : null;
  const subtitle = input.subtitle?.replace(/\s+/g, ' ').trim() || null;
  const route = title ? await routeCover(s.coins.detector, s.loraResolver, title, subtitle ?? undefined) : null;
  const coins = route?.coins ?? s.coins.detector.detect(input.prompt ?? '');
  const primaryCoin = coins.find((c) => c.primary) ?? null;
  const primary = primaryCoin ? { symbol: primaryCoin.symbol, name: primaryCoin.name } : null;
  const family: BaseModelName | undefined = input.baseModel;
  const notes: string[] = [];
  const max = input.maxLoras ?? 3;
  const loras: PlannedLora[] = [];
  let discovered: DiscoverResult | null = null;

  const registryInfo = async (name: string, version?: number): Promise<{ trigger_words: string[]; version?: number; asset_type?: string; base_model?: string }> => {
    const lora = await s.store.loras.find(name);
    if (!lora) {
      if (version !== undefined) {
        throw new LoraloopError('NOT_FOUND', `There is no LoRA "${name}" in the registry, so version ${version} cannot be chosen.`, { hint: 'Check the name with lora_list, or leave version out for a server file name.' });
      }
      return { trigger_words: [] };
    }
    const v = version === undefined ? await usableVersion(s.store, lora) : await s.store.loras.getVersion(lora.id, version);
    if (version !== undefined && (!v || v.status === 'rejected')) {
      const have = (await s.store.loras.listVersions(lora.id)).filter((x) => x.status !== 'rejected').map((x) => `v${x.version}`);
      throw new LoraloopError('NOT_FOUND', `${name} has no usable version ${version}.`, { hint: `It has ${have.join(', ') || 'no versions'}; see lora_list.` });
    }
    const fromFile = (v?.inspection as { trigger_words?: string[] } | null | undefined)?.trigger_words ?? [];
    return {
      trigger_words: [...new Set([lora.trigger_word, ...fromFile.slice(0, 1)].filter(Boolean))],
      ...(v ? { version: v.version } : {}),
      asset_type: lora.asset_type,
      base_model: lora.base_model,
    };
  };

  if (input.backend === 'local') {
    if (input.loras?.length) notes.push('The local renderer cannot apply LoRAs; the ones given were not used.');
  } else if (input.loras) {
    for (const l of input.loras.slice(0, 10)) {
      const info = await registryInfo(l.name, l.version);
      if (family && info.base_model && info.base_model !== family) {
        notes.push(`LoRA ${l.name} is for ${info.base_model}, not ${family}; it may fail or have no effect.`);
      }
      loras.push({ name: l.name, strength: l.strength, source: 'given', ...info });
    }
  } else {
    const routed = route?.lora;
    if (routed && (!family || !routed.base_model || routed.base_model === family)) {
      const info = await registryInfo(routed.name);
      loras.push({ name: routed.name, strength: routed.strength, source: 'route', ...info });
    } else if (routed) {
      notes.push(`The routed LoRA ${routed.name} is for ${routed.base_model}, not ${family}; it was left out.`);
    }
    if (input.autoLora !== false) {
      const text = [input.prompt, title, subtitle].filter(Boolean).join(' ');
      discovered = await discoverLoras(s.store, {
        prompt: text,
        base_model: family,
        max,
        coinName: (sym) => s.coins.catalogue.bySymbol(sym)?.name,
      });
      for (const d of discovered.loras) {
        if (loras.length >= max) break;
        if (loras.some((l) => l.name === d.name)) continue;
        loras.push({ name: d.name, strength: d.strength, source: 'discover', trigger_words: d.trigger_words.slice(0, 1), version: d.version, asset_type: d.asset_type });
      }
      if (discovered.loras.length) {
        notes.push(`Auto-LoRA found ${discovered.loras.map((d) => `${d.name} (${d.strength}: ${d.evidence[0] ?? 'match'})`).join(', ')}.`);
      }
    }
  }

  const triggers = [...new Set(loras.flatMap((l) => l.trigger_words))];
  const logoLora = loras.some((l) => l.asset_type === 'logo' || l.asset_type === 'coin');
  const subject = input.prompt?.trim() || (title ? subjectOf(title, primary) : '');
  const built = buildImagePrompt({ triggers, coin: primary, subject, logoLora });
  const scope = primary?.symbol ?? (input.style ? `style:${input.style}` : 'general');
  return { title, subtitle, route, primary, scope, prompt: built.prompt, negative_prompt: built.negative_prompt, loras, discovered, notes };
}

/**
 * Map registry LoRA names to the file names a set of servers list (`solana_v2` -> `brand/solana_v2.safetensors`),
 * by the backend's own matching first and then a fuzzy match on normalised names. Unmatched names stay as
 * they are (the server then refuses them with its list).
 */
export function mapLoraFiles(loras: readonly LoraRef[], serverLoras: readonly string[]): LoraRef[] {
  return loras.map((l) => {
    const exact = serverLoras.find((f) => f === l.name);
    if (exact) return l;
    // A specific version is deployed as <name>_v<N> (or -v<N>); prefer that file when the server has it.
    const versioned = l.version !== undefined ? (fuzzyMatchModel(`${l.name}_v${l.version}`, serverLoras) ?? fuzzyMatchModel(`${l.name}v${l.version}`, serverLoras)) : undefined;
    const hit = versioned ?? fuzzyMatchModel(l.name, serverLoras);
    return hit ? { ...l, name: hit } : l;
  });
}

/** A stored image: a composed cover, or the raw backend image when composition was skipped. */
export interface FinishedImage {
  record: CoverRecord;
  /** Set when composed (logo + title). */
  made: CoverMade | null;
}

/**
 * Store a backend image: composed with the correct logo and the title (makeCover) unless `raw` or there is no
 * title; raw images get a cover record too (style `raw`, palette read from the pixels, no logo), so every
 * image has an id.
 */
export async function finishImage(
  s: MakeCoverDeps,
  p: {
    plan: ImagePlan;
    png: Buffer;
    raw: boolean;
    width: number;
    height: number;
    seed: number;
    backend: string;
    checkpoint: string | null;
    loras: Array<{ name: string; version?: number; strength: number }>;
    batch_id?: string | null;
    meta?: Record<string, unknown>;
    out?: string | undefined;
    style?: string | undefined;
  },
): Promise<FinishedImage> {
  const { plan } = p;
  if (!p.raw && plan.title) {
    const made = await makeCover(s, {
      title: plan.title,
      subtitle: plan.subtitle ?? undefined,
      width: p.width,
      height: p.height,
      seed: p.seed,
      out: p.out,
      style: p.style,
      background: p.png,
      backend: p.backend,
      checkpoint: p.checkpoint,
      loras: p.loras,
      batch_id: p.batch_id ?? null,
      meta: { prompt: plan.prompt, ...(p.meta ?? {}) },
      ...(plan.route ? { route: plan.route } : {}),
    });
    return { record: made.record, made };
  }
  const outPath = p.out ? await s.paths.resolve(p.out, { forWrite: true }) : null;
  const img = sharp(p.png);
  const info = await img.metadata();
  const rgba = await sharp(p.png).resize(64, 64, { fit: 'fill' }).removeAlpha().ensureAlpha().raw().toBuffer();
  const png = info.format === 'png' ? p.png : await img.png().toBuffer();
  const blob = await s.store.blobs.put(png, 'png');
  const routed = plan.route?.lora;
  const record = await s.store.covers.insert({
    title: plan.title ?? plan.prompt.slice(0, 300),
    subtitle: plan.subtitle,
    coins: (plan.route?.coins ?? []).map((c) => ({ symbol: c.symbol, name: c.name, primary: c.primary })),
    primary_symbol: plan.primary?.symbol ?? null,
    lora: routed ? { name: routed.name, version: routed.version, strength: routed.strength } : null,
    seed: p.seed,
    width: info.width ?? p.width,
    height: info.height ?? p.height,
    style: 'raw',
    palette: extractPalette(rgba, 64, 64),
    logo: null,
    text_box: null,
    backend: p.backend,
    checkpoint: p.checkpoint,
    loras: p.loras,
    batch_id: p.batch_id ?? null,
    blob_sha256: blob.sha256,
    blob_path: blob.path,
    meta: { raw: true, prompt: plan.prompt, ...(p.meta ?? {}) },
  });
  if (outPath) copyFileSync(blob.path, outPath);
  return { record, made: null };
}

/** Pixel size to ask an image model for: its native area at the cover's aspect, in multiples of 64. */
export function generationSize(baseModel: BaseModel | 'local', width: number, height: number): { width: number; height: number } {
  if (baseModel === 'local') return { width, height };
  const area = baseModel === 'sd15' ? 512 * 768 : 1024 * 1024;
  const aspect = width / height;
  const w = Math.sqrt(area * aspect);
  const r64 = (v: number): number => Math.max(256, Math.round(v / 64) * 64);
  return { width: r64(w), height: r64(w / aspect) };
}

/** One image from a backend, with failover across the backend's servers. */
export interface GeneratedOne {
  result: GenerateResult;
  server: string;
  elapsed_ms: number;
  /** LoRAs as sent (server file names for ComfyUI). */
  loras: LoraRef[];
}

/**
 * Generate one image on a backend. For the ComfyUI pool the request goes to whichever server is free and
 * has the names; a server that fails hands the image to the next one (the same pool as batches).
 */
export async function generateOne(
  s: GenerateDeps,
  p: {
    plan: ImagePlan;
    backend: BackendName;
    checkpoint?: string | undefined;
    baseModel?: BaseModel | undefined;
    seed: number;
    width: number;
    height: number;
    signal?: AbortSignal | undefined;
    onProgress?: ((x: { value: number; max: number }) => void) | undefined;
  },
): Promise<GeneratedOne> {
  const workers = s.backends.workers(p.backend);
  let loras: LoraRef[] = p.plan.loras.map((l) => ({ name: l.name, strength: l.strength, ...(l.version !== undefined ? { version: l.version } : {}) }));
  if (p.backend === 'comfyui' && loras.length) {
    const lists = await Promise.all(s.backends.comfy.map((c) => c.backend.client.listLoras().catch(() => [] as string[])));
    loras = mapLoraFiles(loras, [...new Set(lists.flat())]);
  }
  const size = generationSize(p.backend === 'local' ? 'local' : (p.baseModel ?? 'sd15'), p.width, p.height);
  let got: { result: GenerateResult; server: string; ms: number } | undefined;
  const report = await runPool<number, GenerateResult>(workers, [0], {
    ...(s.generationOptions.pool ?? {}),
    ...(p.signal ? { signal: p.signal } : {}),
    run: (worker, _t, signal) =>
      worker.backend.generate({
        prompt: p.plan.prompt,
        negativePrompt: p.plan.negative_prompt,
        width: size.width,
        height: size.height,
        seed: p.seed,
        ...(p.checkpoint ? { checkpoint: p.checkpoint } : {}),
        ...(p.baseModel ? { baseModel: p.baseModel } : {}),
        loras,
        abortSignal: signal,
        ...(p.onProgress ? { onProgress: p.onProgress } : {}),
      }),
    deliver: async (_t, worker, result, ms) => {
      got = { result, server: worker.id, ms };
    },
  });
  if (!got) {
    const err = report.outcomes[0]?.error ?? 'no server could make it';
    if (p.signal?.aborted) throw new LoraloopError('CANCELED', 'Generation canceled.');
    const cause = report.outcomes[0]?.cause;
    // A refusal the user can act on (unknown checkpoint or LoRA) keeps its own code and hint.
    if (isLoraloopError(cause) && (cause.code === 'INVALID_INPUT' || cause.code === 'NOT_FOUND' || cause.code === 'NOT_CONFIGURED')) throw cause;
    throw new LoraloopError('JOB_FAILED', `The ${p.backend} backend could not make the image: ${err}`, {
      hint: p.backend === 'comfyui' ? 'Check the servers with backends_status.' : undefined,
    });
  }
  return { result: got.result, server: got.server, elapsed_ms: got.ms, loras };
}

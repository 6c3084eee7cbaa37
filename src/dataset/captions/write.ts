/**
 * caption_write's engine: pick the images, caption each with the vision model (when configured) or the local
 * captioner, finish every caption the same way (vocabulary, trigger word first, length) and store it.
 * One image failing never loses the others; a refused key or an unreachable endpoint stops the run at once
 * (every further call would fail the same way).
 */
import PQueue from 'p-queue';
import type { Config } from '../../core/config.js';
import type { Logger } from '../../core/logger.js';
import type { Store } from '../../store/index.js';
import type { PeopleDetector } from '../people/detector.js';
import type { CoinSpotter } from '../ports.js';
import { LoraloopError, isLoraloopError } from '../../core/errors.js';
import type { LoraImageRecord, LoraRecord } from '../../store/repos/loras.js';
import { readStoredBlob } from '../../store/stored-blob.js';
import { finalizeCaption } from './finalize.js';
import { localCaption } from './local.js';
import { STYLE_GUIDE_TYPES, styleGuideFor } from './style.js';
import { createVisionCaptioner, type VisionCaptioner } from './vision.js';
import { buildVocabulary, describeVocabulary } from './vocabulary.js';

/** What captioning needs: the vision endpoint (config.openai, fetch), the project's rows, the local captioner's detectors. */
export interface WriteCaptionsDeps {
  config: { openai: Config['openai'] };
  fetch: typeof fetch;
  store: Pick<Store, 'loras' | 'blobs'>;
  coins: { detector: CoinSpotter };
  people: PeopleDetector;
  logger: Logger;
}

/** Which captioner to use. `auto`: the vision model when OPENAI_API_KEY is set, else local. */
export type CaptionerChoice = 'auto' | 'vision' | 'local';

/** Options for {@link writeCaptions}. */
export interface WriteCaptionsOptions {
  /** Only these images (re-captioned even if they have a caption). Default: every image still pending. */
  imageIds?: string[];
  /** Re-caption every image of the project, user captions included. */
  overwrite?: boolean;
  /** An asset type whose style guide to use, or extra style instructions for the model. */
  style?: string;
  /** Vocabulary entries `{variant: preferred}` to merge into the project's vocabulary (saved on the project). */
  vocabulary?: Record<string, string>;
  captioner?: CaptionerChoice;
  /** Parallel vision calls (default 2). */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (done: number, total: number) => void;
  /** A ready captioner (tests, scripts); default built from config.openai. */
  vision?: VisionCaptioner;
}

/** The outcome for one image. */
export interface CaptionOutcome {
  image_id: string;
  file_name: string;
  ok: boolean;
  caption?: string;
  categories?: string[];
  error?: string;
}

/** What {@link writeCaptions} did. */
export interface WriteCaptionsResult {
  lora: LoraRecord;
  captioner: 'vision' | 'local';
  model: string | null;
  results: CaptionOutcome[];
  /** Vocabulary replacements made across all captions. */
  replaced: number;
  /** Images skipped because they already had a caption (without image_ids/overwrite). */
  skipped: number;
}

function pickImages(all: LoraImageRecord[], opts: WriteCaptionsOptions): { chosen: LoraImageRecord[]; skipped: number } {
  if (opts.imageIds && opts.imageIds.length) {
    const byId = new Map(all.map((i) => [i.id, i]));
    const missing = opts.imageIds.filter((id) => !byId.has(id));
    if (missing.length) {
      throw new LoraloopError('NOT_FOUND', `No image ${missing.slice(0, 3).join(', ')}${missing.length > 3 ? ` (and ${missing.length - 3} more)` : ''} in this project.`, {
        hint: 'Leave image_ids out to caption every pending image, or take the ids from lora_upload_images.',
      });
    }
    return { chosen: opts.imageIds.map((id) => byId.get(id) as LoraImageRecord), skipped: 0 };
  }
  if (opts.overwrite) return { chosen: all, skipped: 0 };
  const chosen = all.filter((i) => i.caption_status !== 'ok' || !i.caption);
  return { chosen, skipped: all.length - chosen.length };
}

/** Caption images of a project (see module comment). */
export async function writeCaptions(services: WriteCaptionsDeps, loraId: string, opts: WriteCaptionsOptions = {}): Promise<WriteCaptionsResult> {
  const loras = services.store.loras;
  let lora = await loras.find(loraId);
  if (!lora) throw new LoraloopError('NOT_FOUND', `No LoRA project "${loraId}".`, { hint: 'Call lora_list to see the projects and their ids.' });
  if (opts.vocabulary && Object.keys(opts.vocabulary).length) {
    lora = await loras.update(lora.id, { vocabulary: { ...(lora.vocabulary ?? {}), ...opts.vocabulary } });
  }
  const vocab = buildVocabulary(lora.vocabulary);
  const styleIsType = opts.style !== undefined && STYLE_GUIDE_TYPES.includes(opts.style.trim().toLowerCase());
  const guide = styleGuideFor(styleIsType ? (opts.style as string).trim().toLowerCase() : lora.asset_type);
  const extra = opts.style !== undefined && !styleIsType ? opts.style.trim() : undefined;

  const choice = opts.captioner ?? 'auto';
  const oa = services.config.openai;
  let vision: VisionCaptioner | undefined = opts.vision;
  if (!vision && choice !== 'local' && (choice === 'vision' || oa.apiKey)) {
    // choice 'vision' without a key throws NOT_CONFIGURED naming OPENAI_API_KEY.
    vision = createVisionCaptioner({ apiKey: oa.apiKey, baseUrl: oa.baseUrl, model: oa.visionModel, fetch: services.fetch });
  }
  if (choice === 'local') vision = undefined;

  const { chosen, skipped } = pickImages(await loras.listImages(lora.id, { includeExcluded: true }), opts);
  const results: CaptionOutcome[] = new Array<CaptionOutcome>(chosen.length);
  let replaced = 0;
  let done = 0;
  let fatal: LoraloopError | undefined;
  const queue = new PQueue({ concurrency: vision ? Math.max(1, opts.concurrency ?? 2) : 1 });
  const project = lora;
  const vocabLine = describeVocabulary(vocab);

  const one = async (img: LoraImageRecord, idx: number): Promise<void> => {
    if (fatal || opts.signal?.aborted) return;
    try {
      const bytes = await readStoredBlob(services.store.blobs, { sha256: img.blob_sha256, path: img.blob_path });
      let text: string;
      let categories: string[];
      if (vision) {
        const r = await vision.caption({
          bytes,
          fileName: img.file_name,
          tags: img.tags,
          assetType: guide.assetType,
          triggerWord: project.trigger_word,
          guide,
          vocabulary: vocabLine,
          ...(extra ? { extra } : {}),
          ...(opts.signal ? { signal: opts.signal } : {}),
        });
        // The user's tags are facts: keep any the model left out.
        const missing = img.tags.filter((t) => !r.text.toLowerCase().includes(t.toLowerCase()));
        text = missing.length ? `${r.text}, ${missing.join(', ')}` : r.text;
        categories = r.categories;
      } else {
        const r = await localCaption({ bytes, fileName: img.file_name, tags: img.tags, categories: img.categories, assetType: project.asset_type }, services.coins.detector, services.people);
        text = r.text;
        // Categories the detector measured are stored like a vision model's (the rebalance plan and the kohya
        // subsets read them); without a shot the local captioner adds nothing the tags did not say.
        categories = r.shot ? r.categories : [];
      }
      const fin = finalizeCaption(text, project.trigger_word, vocab);
      replaced += fin.replaced;
      // Model categories replace only categories a captioner set before, never the user's own.
      const keepUserCategories = img.categories !== null && img.caption_source === 'user';
      await loras.updateImage(img.id, {
        caption: fin.caption,
        caption_status: 'ok',
        caption_source: vision ? 'vision' : 'local',
        ...(categories.length && !keepUserCategories ? { categories } : {}),
      });
      results[idx] = { image_id: img.id, file_name: img.file_name, ok: true, caption: fin.caption, ...(categories.length ? { categories } : {}) };
    } catch (e) {
      if (isLoraloopError(e) && (e.code === 'NOT_CONFIGURED' || e.code === 'UPSTREAM_UNREACHABLE')) fatal ??= e;
      const msg = isLoraloopError(e) ? e.toSentence() : `The image could not be captioned (${e instanceof Error ? e.message : String(e)}).`;
      if (!isLoraloopError(e)) services.logger.error('caption failed', { image: img.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
      results[idx] = { image_id: img.id, file_name: img.file_name, ok: false, error: msg };
    } finally {
      opts.onProgress?.(++done, chosen.length);
    }
  };
  await Promise.all(chosen.map((img, idx) => queue.add(() => one(img, idx))));
  if (fatal) throw fatal;
  if (opts.signal?.aborted) {
    const n = results.filter((r) => r?.ok).length;
    throw new LoraloopError('CANCELED', `Canceled after ${n} of ${chosen.length} captions.`, { hint: 'Captions written so far are kept; run caption_write again for the rest.' });
  }
  return {
    lora: project,
    captioner: vision ? 'vision' : 'local',
    model: vision ? vision.model : null,
    results: results.filter((r): r is CaptionOutcome => r !== undefined),
    replaced,
    skipped,
  };
}

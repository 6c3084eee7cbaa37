/**
 * Image intake: path or URL -> safe bytes -> decodeImage -> duplicate check by pixel hash -> blob -> lora_images row.
 * Used by lora_upload_images and by dataset collection. Each image is handled on its own: one broken file
 * becomes an error entry for that image, never a failed batch.
 *
 * What is stored is the NORMALISED image (upright, 8-bit sRGB, first frame, alpha flattened): the bytes a
 * trainer should see, so every later step (captioning, metrics, export) reads the same pixels.
 */
import { stat, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../core/config.js';
import type { Logger } from '../core/logger.js';
import { LoraloopError, isLoraloopError } from '../core/errors.js';
import { createSafeFetcher, type SafeFetcher } from '../core/net.js';
import { decodeImage } from '../image/decode.js';
import type { PathGuard } from '../core/paths.js';
import { isUniqueViolation } from '../store/unique.js';
import type { Store } from '../store/index.js';
import type { LoraImageRecord, LoraRecord } from '../store/repos/loras.js';
import { checkCaption } from './captions/rules.js';

/** Largest image file read from disk or downloaded (bytes). The pixel limit is checked separately. */
export const MAX_IMAGE_FILE_BYTES = 64 * 1024 * 1024;
/** Deadline for one image download. */
export const IMAGE_DOWNLOAD_TIMEOUT_MS = 60_000;

/** One image to take in. Exactly one of `path`, `url` and `data`. */
export interface IntakeItem {
  path?: string | undefined;
  url?: string | undefined;
  /** The image's bytes, sent inline or PUT to an upload URL by a remote client. */
  data?: Buffer | undefined;
  /** File name for `data` (the captioner reads coin names in it). */
  file_name?: string | undefined;
  /** 10-500 characters, or absent: the image is then pending (captioned later). */
  caption?: string | undefined;
  tags?: string[] | undefined;
  categories?: string[] | undefined;
  /** Who wrote the caption (user, local, vision, variation); default `user` when a caption is given. */
  caption_source?: string | undefined;
  /** Image id this one was made from (crop, flip). */
  derived_from?: string | undefined;
  /** What the row records as the image's source, when not the path, URL or upload name (a cover's recorded blob path). */
  source?: string | undefined;
}

/** The outcome for one image. */
export interface IntakeResult {
  ok: boolean;
  /** The path or URL as given. */
  source: string;
  image_id?: string;
  /** One sentence: what was wrong and what to do. */
  error?: string;
  /** What was wrong, without the advice (for summaries). */
  message?: string;
  error_code?: string;
  /** For a refused duplicate: the image already in the project with the same pixels. */
  duplicate_of?: string;
  warnings?: string[];
  caption_status?: 'ok' | 'pending';
  width?: number;
  height?: number;
}

/** What intake needs from the app: the downloader's settings, the allowed roots, the project's rows and blobs. */
export interface IntakeDeps {
  config: Config;
  paths: PathGuard;
  store: Pick<Store, 'loras' | 'blobs'>;
  logger: Logger;
}

/** Options for {@link intakeImages}. */
export interface IntakeOptions {
  signal?: AbortSignal;
  /** Called after each image (done = images handled so far). */
  onProgress?: (done: number, total: number, result: IntakeResult) => void;
  /** Pixel limit for decoding (default: decodeImage's 40 MP). */
  maxPixels?: number;
  /** Downloader override (tests inject a lookup); default built from the config. */
  fetcher?: SafeFetcher;
}

/**
 * The downloader for user-given URLs: SSRF rules from src/core/net.ts, with LORALOOP_ALLOW_PRIVATE_URLS lifting
 * them and the configured backend origins (REPLICATE_BASE_URL, COMFYUI_URLS) trusted as configured.
 */
export function createIntakeFetcher(config: Config, maxBytes = MAX_IMAGE_FILE_BYTES, timeoutMs = IMAGE_DOWNLOAD_TIMEOUT_MS): SafeFetcher {
  return createSafeFetcher({
    allowPrivate: config.allowPrivateUrls,
    trustedOrigins: [config.replicate.baseUrl, ...config.comfyuiUrls],
    maxBytes,
    timeoutMs,
    headers: { 'user-agent': 'loraloop' },
  });
}

/** The base name a path or URL carries (the captioner reads coin names in it). */
export function sourceFileName(item: { path?: string | undefined; url?: string | undefined; file_name?: string | undefined }): string {
  if (item.file_name) return path.basename(item.file_name);
  if (item.path) return path.basename(item.path);
  if (item.url) {
    try {
      const u = new URL(item.url);
      const last = decodeURIComponent(u.pathname.split('/').filter(Boolean).pop() ?? '');
      return last || u.hostname;
    } catch {
      return 'download';
    }
  }
  return 'image';
}

function sourceOf(item: IntakeItem): string {
  return item.source ?? item.path ?? item.url ?? (item.data ? `upload:${item.file_name ?? 'image'}` : '(none)');
}

/** Read the bytes of one item through the path guard or the safe downloader. */
async function readSource(services: IntakeDeps, item: IntakeItem, fetcher: () => SafeFetcher, signal?: AbortSignal): Promise<Buffer> {
  if ((item.path ? 1 : 0) + (item.url ? 1 : 0) + (item.data ? 1 : 0) !== 1) {
    throw new LoraloopError('INVALID_INPUT', 'Each image needs exactly one of path, url or data_base64.', {
      hint: 'Give {"path": "..."} for a local file, {"url": "https://..."} for a download, or {"data_base64": "..."} for a small image sent inline.',
    });
  }
  if (item.data) {
    if (item.data.length > MAX_IMAGE_FILE_BYTES) {
      throw new LoraloopError('IMAGE_TOO_LARGE', `The image is ${(item.data.length / 1048576).toFixed(1)} MB; images may be at most ${MAX_IMAGE_FILE_BYTES / 1048576} MB.`, { hint: 'Downscale or re-save it as JPEG first.' });
    }
    return item.data;
  }
  if (item.path) {
    const real = await services.paths.resolve(item.path, { mustExist: true });
    const st = await stat(real);
    if (!st.isFile()) {
      throw new LoraloopError('INVALID_INPUT', `${item.path} is not a file.`, { hint: 'Give the path of an image file, not a folder.' });
    }
    if (st.size > MAX_IMAGE_FILE_BYTES) {
      throw new LoraloopError('IMAGE_TOO_LARGE', `${item.path} is ${(st.size / 1048576).toFixed(1)} MB; image files may be at most ${MAX_IMAGE_FILE_BYTES / 1048576} MB.`, {
        hint: 'Downscale or re-save it as JPEG first.',
      });
    }
    return readFile(real);
  }
  const res = await fetcher().download(item.url as string, { accept: 'image', ...(signal ? { signal } : {}) });
  return res.bytes;
}


function duplicateError(existing: LoraImageRecord): LoraloopError {
  return new LoraloopError('DUPLICATE_IMAGE', `The same pixels are already in this project as image ${existing.id} (${existing.file_name}).`, {
    hint: 'Skip this file; use a different shot instead.',
    details: { duplicate_of: existing.id },
  });
}

/**
 * Take in one image for a project. Throws a LoraloopError for anything wrong with this image
 * (caption, path, URL, decode, duplicate); the caller turns it into a per-image error.
 */
export async function intakeImage(
  services: IntakeDeps,
  lora: LoraRecord,
  item: IntakeItem,
  opts: { signal?: AbortSignal; maxPixels?: number; fetcher: () => SafeFetcher },
): Promise<{ image: LoraImageRecord; warnings: string[] }> {
  // Cheap checks before any I/O.
  const cap = checkCaption(item.caption);
  const bytes = await readSource(services, item, opts.fetcher, opts.signal);
  opts.signal?.throwIfAborted();
  const decoded = await decodeImage(bytes, opts.maxPixels !== undefined ? { maxPixels: opts.maxPixels } : {});
  const loras = services.store.loras;
  const existing = await loras.findImageByPixelHash(lora.id, decoded.pixelHash);
  if (existing) throw duplicateError(existing);
  const normalized = await decoded.normalized();
  // Blob first, then the row that points at it (a crash in between leaves an unreferenced blob, never a dangling row).
  const blob = await services.store.blobs.put(normalized, decoded.normalizedMime === 'image/png' ? 'png' : 'jpg');
  const warnings = [...decoded.warnings];
  if (decoded.orientationApplied) warnings.push('EXIF orientation applied: the image is stored upright');
  try {
    const image = await loras.addImage({
      lora_id: lora.id,
      blob_sha256: blob.sha256,
      blob_path: blob.path,
      pixel_hash: decoded.pixelHash,
      width: decoded.width,
      height: decoded.height,
      format: decoded.format,
      source: sourceOf(item),
      file_name: sourceFileName(item),
      caption: cap.caption,
      caption_status: cap.status,
      caption_source: cap.caption ? (item.caption_source ?? 'user') : null,
      tags: [...new Set((item.tags ?? []).map((t) => t.trim()).filter((t) => t !== ''))],
      warnings,
      ...(item.categories && item.categories.length ? { categories: item.categories } : {}),
      ...(item.derived_from ? { derived_from: item.derived_from } : {}),
    });
    return { image, warnings };
  } catch (e) {
    // Another process took in the same pixels between our check and our insert.
    if (isUniqueViolation(e, 'lora_images')) {
      const other = await loras.findImageByPixelHash(lora.id, decoded.pixelHash);
      if (other) throw duplicateError(other);
    }
    throw e;
  }
}

/** Turn whatever one image threw into its result entry. Programmer errors are logged, not hidden. */
function failed(services: IntakeDeps, item: IntakeItem, e: unknown): IntakeResult {
  const source = sourceOf(item);
  if (isLoraloopError(e)) {
    const dup = e.details?.duplicate_of;
    return {
      ok: false,
      source,
      error: e.toSentence(),
      message: e.message,
      error_code: e.code,
      ...(typeof dup === 'string' ? { duplicate_of: dup } : {}),
    };
  }
  services.logger.error('image intake crashed', { source, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  return {
    ok: false,
    source,
    error: `The image could not be taken in (${e instanceof Error ? e.message : String(e)}).`,
    error_code: 'INTERNAL',
  };
}

/**
 * Take in a batch, one image at a time (sharp already uses the cores; the machine is shared). Moves the
 * project from `created` to `uploading` once the first image lands. Cancellation stops before the next image;
 * images already stored stay.
 */
export async function intakeImages(services: IntakeDeps, lora: LoraRecord, items: IntakeItem[], opts: IntakeOptions = {}): Promise<IntakeResult[]> {
  let fetcher = opts.fetcher;
  const getFetcher = (): SafeFetcher => (fetcher ??= createIntakeFetcher(services.config));
  const results: IntakeResult[] = [];
  for (const item of items) {
    if (opts.signal?.aborted) {
      throw new LoraloopError('CANCELED', `Canceled after ${results.length} of ${items.length} images.`, {
        hint: 'Images already taken in are kept; send the rest again.',
      });
    }
    let result: IntakeResult;
    try {
      const { image, warnings } = await intakeImage(services, lora, item, {
        fetcher: getFetcher,
        ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.maxPixels !== undefined ? { maxPixels: opts.maxPixels } : {}),
      });
      result = {
        ok: true,
        source: sourceOf(item),
        image_id: image.id,
        caption_status: image.caption_status,
        width: image.width,
        height: image.height,
        ...(warnings.length ? { warnings } : {}),
      };
    } catch (e) {
      result = failed(services, item, e);
    }
    results.push(result);
    opts.onProgress?.(results.length, items.length, result);
  }
  if (results.some((r) => r.ok)) {
    const cur = await services.store.loras.get(lora.id);
    if (cur && cur.status === 'created') await services.store.loras.update(lora.id, { status: 'uploading' });
  }
  return results;
}

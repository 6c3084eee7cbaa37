/**
 * Reading a LoRA .safetensors from a path (allowed roots) or a URL (SSRF-safe downloader), for lora_inspect and
 * lora_import. A local file is inspected from its header alone; the bytes are read only when they are kept.
 */
import { readFile, stat } from 'node:fs/promises';
import type { Config } from '../core/config.js';
import type { PathGuard } from '../core/paths.js';
import { LoraloopError } from '../core/errors.js';
import { createIntakeFetcher } from '../dataset/intake.js';
import { inspectSafetensorsBuffer, inspectSafetensorsFile } from './safetensors/inspect.js';
import type { LoraInspection } from './safetensors/schema.js';

/** Largest LoRA file downloaded or read whole (a FLUX rank-128 LoRA is about 1.2 GB). */
export const MAX_LORA_FILE_BYTES = 1536 * 1024 * 1024;
/** Deadline for a LoRA download. */
export const LORA_DOWNLOAD_TIMEOUT_MS = 10 * 60_000;

/** Where a LoRA file comes from: exactly one of the two. */
export interface LoraFileSource {
  path?: string | undefined;
  url?: string | undefined;
}

/** An inspected LoRA file; `bytes` only when asked for. */
export interface LoadedLoraFile {
  inspection: LoraInspection;
  bytes: Buffer | null;
  /** The real path (for a local file) or the final URL (after redirects). */
  location: string;
  file_name: string;
}

function checkOne(src: LoraFileSource): void {
  if ((src.path ? 1 : 0) + (src.url ? 1 : 0) !== 1) {
    throw new LoraloopError('INVALID_INPUT', 'Give exactly one of path or url.', {
      hint: 'Use {"path": "lora.safetensors"} for a local file or {"url": "https://..."} for a download.',
    });
  }
}

/** Inspect (and, with `withBytes`, read) a LoRA file. */
export async function loadLoraFile(services: { config: Config; paths: PathGuard }, src: LoraFileSource, opts: { withBytes: boolean; signal?: AbortSignal }): Promise<LoadedLoraFile> {
  checkOne(src);
  if (src.path) {
    const real = await services.paths.resolve(src.path, { mustExist: true });
    const st = await stat(real);
    if (!st.isFile()) throw new LoraloopError('INVALID_INPUT', `${src.path} is not a file.`, { hint: 'Give the path of a .safetensors file.' });
    const inspection = await inspectSafetensorsFile(real);
    let bytes: Buffer | null = null;
    if (opts.withBytes) {
      if (st.size > MAX_LORA_FILE_BYTES) {
        throw new LoraloopError('INVALID_INPUT', `${src.path} is ${(st.size / 1048576).toFixed(0)} MB, more than the ${MAX_LORA_FILE_BYTES / 1048576} MB loraloop stores.`, {
          hint: 'Use a smaller (lower-rank or fp16) version of the LoRA.',
        });
      }
      bytes = await readFile(real);
    }
    return { inspection, bytes, location: real, file_name: real.split(/[\\/]/).pop() ?? real };
  }
  const fetcher = createIntakeFetcher(services.config, MAX_LORA_FILE_BYTES, LORA_DOWNLOAD_TIMEOUT_MS);
  const res = await fetcher.download(src.url as string, { accept: 'safetensors', ...(opts.signal ? { signal: opts.signal } : {}) });
  const inspection = inspectSafetensorsBuffer(res.bytes);
  let name = 'lora.safetensors';
  try {
    name = decodeURIComponent(new URL(res.finalUrl).pathname.split('/').filter(Boolean).pop() ?? name);
  } catch {
    /* keep the default */
  }
  return { inspection, bytes: opts.withBytes ? res.bytes : null, location: res.finalUrl, file_name: name };
}

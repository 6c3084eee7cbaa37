/**
 * Where analysed images come from: a LoRA project's stored images, or a folder on disk. Both are async
 * iterables yielding one small descriptor per image with a `read()` for its bytes, so the analysis pulls
 * bytes only when a worker is free and never holds the set in memory.
 */
import { open, opendir, readFile, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { BlobStore } from '../../store/blobs.js';
import type { LoraImageRecord } from '../../store/repos/loras.js';
import { readStoredBlob } from '../../store/stored-blob.js';
import { estimateJpegQuality } from '../../image/metrics.js';

/** One image to analyse. */
export interface ImageInput {
  /** Project image id (lora mode). */
  image_id?: string;
  /** Path relative to the analysed folder (dir mode). */
  file?: string;
  /** Short name for people (the original file name). */
  label: string;
  read(): Promise<Buffer>;
  tags: string[];
  caption: string | null;
  /** Categories given by the user or the vision model; null = derive from tags and caption. */
  categories: string[] | null;
  /** True when `read()` returns the file as it was delivered (its JPEG tables tell the original quality). */
  original: boolean;
  /** JPEG quality of the original file when `read()` returns a re-encode (project images), or null. */
  originalQuality?: () => Promise<number | null>;
}

/** File extensions read as images in a folder. */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.avif', '.heic', '.heif', '.tif', '.tiff', '.bmp']);

/**
 * The JPEG quality of a file from its first bytes (the quantisation tables sit before the image data), or
 * null when it cannot be read or is not a JPEG.
 */
export async function probeJpegQuality(file: string): Promise<number | null> {
  let fh: FileHandle | undefined;
  try {
    fh = await open(file, 'r');
    const buf = Buffer.alloc(256 * 1024);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return estimateJpegQuality(buf.subarray(0, bytesRead));
  } catch {
    return null;
  } finally {
    await fh?.close();
  }
}

/**
 * The images of a project (excluded ones left out). `originalPath` maps an image to its original file when
 * that is still readable (through the path guard), so JPEG artefacts of the original can be measured: the
 * stored copy is a quality-95 re-encode whose tables say nothing about them.
 */
export async function* loraSource(
  blobs: BlobStore,
  images: LoraImageRecord[],
  originalPath?: (img: LoraImageRecord) => Promise<string | null>,
): AsyncGenerator<ImageInput> {
  for (const img of images) {
    const probe = originalPath && img.format === 'jpeg' && !img.derived_from ? originalPath : undefined;
    yield {
      image_id: img.id,
      label: img.file_name,
      read: () => readStoredBlob(blobs, { sha256: img.blob_sha256, path: img.blob_path }),
      tags: img.tags,
      caption: img.caption_status === 'ok' ? img.caption : null,
      categories: img.categories,
      // Intake stores a normalised re-encode (JPEG q95), so its tables say nothing about the original.
      original: false,
      ...(probe
        ? {
            originalQuality: async () => {
              const p = await probe(img).catch(() => null);
              return p ? probeJpegQuality(p) : null;
            },
          }
        : {}),
    };
  }
}

/** Walk a folder (recursively, sorted per folder) for image files. */
async function* walk(dir: string, rel = ''): AsyncGenerator<string> {
  const handle = await opendir(path.join(dir, rel));
  const entries: Array<{ name: string; dir: boolean }> = [];
  for await (const e of handle) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) entries.push({ name: e.name, dir: true });
    else if (e.isFile() && IMAGE_EXTENSIONS.has(path.extname(e.name).toLowerCase())) entries.push({ name: e.name, dir: false });
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const e of entries) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.dir) yield* walk(dir, r);
    else yield r;
  }
}

/** Read a kohya/Replicate-style sidecar caption (`name.txt` beside `name.jpg`), if there is one. */
async function sidecar(file: string): Promise<string | null> {
  const txt = file.slice(0, file.length - path.extname(file).length) + '.txt';
  try {
    const st = await stat(txt);
    if (!st.isFile() || st.size > 20_000) return null;
    const text = (await readFile(txt, 'utf8')).replace(/\s+/g, ' ').trim();
    return text === '' ? null : text;
  } catch {
    return null;
  }
}

/**
 * The image files under a folder (already resolved by the path guard). A sidecar `.txt` is read as the
 * caption, so an exported kohya or Replicate bundle can be analysed as it is.
 */
export async function* dirSource(root: string): AsyncGenerator<ImageInput> {
  for await (const rel of walk(root)) {
    const full = path.join(root, rel);
    yield {
      file: rel,
      label: path.basename(rel),
      read: () => readFile(full),
      tags: [],
      caption: await sidecar(full),
      categories: null,
      original: true,
    };
  }
}

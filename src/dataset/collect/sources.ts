/**
 * Where collected material comes from: a feed URL (downloaded through the SSRF-guarded fetcher, like every
 * user-given URL) or a folder with a sidecar JSON of titles. Both become a list of entries: an image, its
 * article title, and the key that says "seen before".
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../../core/config.js';
import type { PathGuard } from '../../core/paths.js';
import { LoraloopError } from '../../core/errors.js';
import type { SafeFetcher } from '../../core/net.js';
import { createIntakeFetcher } from '../intake.js';
import { parseFeed, plainTitle, type FeedFormat } from './feed.js';

/** Largest feed document read (bytes). Real feeds are well under 1 MB. */
export const FEED_MAX_BYTES = 5 * 1024 * 1024;
/** Deadline for downloading the feed document. */
export const FEED_TIMEOUT_MS = 30_000;
/** At most this many articles are taken from one feed or folder per call (newest first in feeds). */
export const MAX_ITEMS = 200;
/** The sidecar file of a folder source. */
export const SIDECAR_NAME = 'titles.json';

/** One article image to collect. */
export interface CollectEntry {
  /** Dedupe key: the image URL, or file://<real path>. */
  key: string;
  title: string;
  article_url: string | null;
  /** Exactly one of url and path is set when there is an image. */
  url?: string;
  path?: string;
}

export interface CollectSource {
  source: string;
  format: FeedFormat | 'folder';
  /** Articles with an image. */
  entries: CollectEntry[];
  /** Articles without any image (reported, nothing to take). */
  without_image: Array<{ title: string; article_url: string | null; reason: string }>;
  /** Articles beyond MAX_ITEMS that were left for later. */
  truncated: number;
}

/** Decode a feed's bytes: UTF-8 unless the XML declaration names another encoding TextDecoder knows. */
export function decodeFeedBytes(bytes: Buffer): string {
  const head = bytes.subarray(0, 200).toString('latin1');
  const at = head.indexOf('encoding=');
  let label = 'utf-8';
  if (at >= 0) {
    const q = head[at + 9];
    if (q === '"' || q === "'") {
      const end = head.indexOf(q, at + 10);
      if (end > 0) label = head.slice(at + 10, end).toLowerCase();
    }
  }
  try {
    return new TextDecoder(label).decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
}

/** Download and parse a feed. The feed URL itself goes through the SSRF guard, size cap and timeout. */
export async function feedSource(services: { config: Config }, feedUrl: string, opts: { signal?: AbortSignal; fetcher?: SafeFetcher } = {}): Promise<CollectSource> {
  const fetcher = opts.fetcher ?? createIntakeFetcher(services.config, FEED_MAX_BYTES, FEED_TIMEOUT_MS);
  const res = await fetcher.download(feedUrl, { accept: 'any', maxBytes: FEED_MAX_BYTES, ...(opts.signal ? { signal: opts.signal } : {}) });
  const feed = parseFeed(decodeFeedBytes(res.bytes), res.finalUrl);
  const entries: CollectEntry[] = [];
  const without: CollectSource['without_image'] = [];
  for (const it of feed.items) {
    if (!it.image) without.push({ title: it.title, article_url: it.link, reason: 'the item has no image (no enclosure, media:content, media:thumbnail or image field)' });
    else entries.push({ key: it.image, title: it.title, article_url: it.link, url: it.image });
  }
  return { source: feedUrl, format: feed.format, entries: entries.slice(0, MAX_ITEMS), without_image: without, truncated: Math.max(0, entries.length - MAX_ITEMS) };
}

const sidecarSchema = z.union([
  z.record(z.string().min(1), z.union([z.string(), z.object({ title: z.string(), url: z.string().optional() })])),
  z.array(z.object({ file: z.string().min(1), title: z.string(), url: z.string().optional() })),
  z.object({ items: z.array(z.object({ file: z.string().min(1), title: z.string(), url: z.string().optional() })) }),
]);

const IMAGE_FILE = /\.(jpe?g|png|webp|gif|avif|heic|heif|tiff?)$/i;

/**
 * A folder of article images with `titles.json` beside them: `{"a.jpg": "Title"}`, `{"a.jpg": {"title",
 * "url"}}`, `[{"file", "title", "url"?}]` or `{"items": [...]}`. Files are named relative to the folder and
 * must stay inside it; images without a title are reported.
 */
export async function folderSource(services: { paths: PathGuard }, dir: string): Promise<CollectSource> {
  const root = await services.paths.resolve(dir, { mustExist: true });
  if (!(await stat(root)).isDirectory()) {
    throw new LoraloopError('INVALID_INPUT', `${dir} is not a folder.`, { hint: `Give the folder that holds the images and ${SIDECAR_NAME}.` });
  }
  const sidecarPath = path.join(root, SIDECAR_NAME);
  let raw: string;
  try {
    raw = await readFile(sidecarPath, 'utf8');
  } catch {
    throw new LoraloopError('NOT_FOUND', `${dir} has no ${SIDECAR_NAME}.`, {
      hint: `Write ${SIDECAR_NAME} next to the images: {"image.jpg": "Article title", ...}.`,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (e) {
    throw new LoraloopError('INVALID_INPUT', `${SIDECAR_NAME} is not valid JSON: ${(e as Error).message}.`, { hint: 'Fix the file; it maps image file names to article titles.' });
  }
  const parsed = sidecarSchema.safeParse(json);
  if (!parsed.success) {
    throw new LoraloopError('INVALID_INPUT', `${SIDECAR_NAME} does not map files to titles.`, {
      hint: 'Use {"image.jpg": "Article title"} or [{"file": "image.jpg", "title": "...", "url": "article link"}].',
    });
  }
  const list: Array<{ file: string; title: string; url?: string | undefined }> = Array.isArray(parsed.data)
    ? parsed.data
    : 'items' in parsed.data && Array.isArray(parsed.data.items)
      ? (parsed.data.items as Array<{ file: string; title: string; url?: string }>)
      : Object.entries(parsed.data as Record<string, string | { title: string; url?: string }>).map(([file, v]) =>
          typeof v === 'string' ? { file, title: v } : { file, title: v.title, url: v.url },
        );
  const titled = new Map<string, { title: string; url?: string | undefined }>();
  for (const e of list) titled.set(path.normalize(e.file), { title: e.title, url: e.url });
  const entries: CollectEntry[] = [];
  const without: CollectSource['without_image'] = [];
  for (const [file, meta] of titled) {
    const full = path.resolve(root, file);
    if (full !== root && !full.startsWith(root + path.sep)) {
      throw new LoraloopError('PATH_NOT_ALLOWED', `${SIDECAR_NAME} names ${file}, which is outside ${dir}.`, { hint: 'Name files relative to the folder, without "..".' });
    }
    let real: string;
    try {
      real = await services.paths.resolve(full, { mustExist: true });
    } catch {
      without.push({ title: plainTitle(meta.title), article_url: meta.url ?? null, reason: `${file} is not in the folder` });
      continue;
    }
    entries.push({ key: `file://${real}`, title: plainTitle(meta.title), article_url: meta.url ?? null, path: real });
  }
  // Images in the folder that the sidecar does not name: reported so nothing is dropped silently.
  const named = new Set(entries.map((e) => path.basename(e.path ?? '')));
  for (const f of (await readdir(root)).sort()) {
    if (IMAGE_FILE.test(f) && !named.has(f) && !titled.has(f)) without.push({ title: '', article_url: null, reason: `${f} has no title in ${SIDECAR_NAME}` });
  }
  return { source: root, format: 'folder', entries: entries.slice(0, MAX_ITEMS), without_image: without, truncated: Math.max(0, entries.length - MAX_ITEMS) };
}

import { createHash } from 'node:crypto';
import { LoraloopError } from '../../core/errors.js';
import type { BlobRef, BlobStore } from '../blobs.js';
import type { ObjectBackend } from './types.js';

const contentTypes: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  svg: 'image/svg+xml',
  html: 'text/html; charset=utf-8',
  json: 'application/json',
  txt: 'text/plain; charset=utf-8',
  zip: 'application/zip',
  tar: 'application/x-tar',
  safetensors: 'application/octet-stream',
};

/** Object key of a blob: the same `<sha[0:2]>/<sha>.<ext>` layout as the local folder, so keys never change. */
export const objectKey = (sha256: string, ext: string) => `${sha256.slice(0, 2)}/${sha256}.${ext.replace(/^\./, '').toLowerCase()}`;

/**
 * Blobs shared by every host through an object store, with this host's blob folder as a read-through
 * cache. A put reaches the object store before it returns, so a row that names a blob is only ever written
 * after every host can read the blob; a host that has never seen a blob fetches it once, checks its sha256
 * (a truncated or altered object is refused, not cached) and keeps it for `localPath` consumers (sharp,
 * trainers) that need a file.
 */
export function createObjectBlobStore(remote: ObjectBackend, cache: BlobStore): BlobStore {
  const fetchToCache = async (ref: Pick<BlobRef, 'sha256' | 'ext'>): Promise<Buffer> => {
    const key = objectKey(ref.sha256, ref.ext);
    const bytes = await remote.get(key);
    if (!bytes) {
      throw new LoraloopError('NOT_FOUND', `Blob ${key} is in neither this host's cache nor ${remote.location}.`, {
        hint: 'Every host must use the same LORALOOP_BLOBS; a blob written before it was set lives only on the host that wrote it.',
      });
    }
    const got = createHash('sha256').update(bytes).digest('hex');
    if (got !== ref.sha256) {
      throw new LoraloopError('STORE_ERROR', `Blob ${key} in ${remote.location} does not match its name (its content hashes to ${got}).`, {
        hint: 'The object was altered or truncated outside loraloop; delete it and store the file again.',
      });
    }
    await cache.put(bytes, ref.ext);
    return bytes;
  };
  return {
    async put(bytes, ext) {
      const ref = await cache.put(bytes, ext);
      const key = objectKey(ref.sha256, ref.ext);
      // Content-addressed: an object that exists already holds these very bytes.
      if (!(await remote.exists(key))) await remote.put(key, bytes, contentTypes[ref.ext] ?? 'application/octet-stream');
      return ref;
    },
    async has(sha256, ext) {
      return (await cache.has(sha256, ext)) || remote.exists(objectKey(sha256, ext));
    },
    async read(ref) {
      if (await cache.has(ref.sha256, ref.ext)) return cache.read(ref);
      return fetchToCache(ref);
    },
    async localPath(ref) {
      if (!(await cache.has(ref.sha256, ref.ext))) await fetchToCache(ref);
      return cache.localPath(ref);
    },
    cachedPath: (ref) => cache.cachedPath(ref),
    async remove(ref) {
      // The shared copy first: once it is gone no host can fetch the blob again. Other hosts' caches keep
      // their copy until their home is cleared; no row names it any more, so nothing reads it.
      const shared = await remote.delete(objectKey(ref.sha256, ref.ext));
      const local = await cache.remove(ref);
      return shared || local;
    },
    sweepTemp: (olderThanMs) => cache.sweepTemp(olderThanMs),
  };
}

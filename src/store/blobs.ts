import { createHash, randomBytes } from 'node:crypto';
import { access, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { LoraloopError } from '../core/errors.js';

/** A stored blob: its content hash, extension and size, and a local file that holds it. */
export interface BlobRef {
  sha256: string;
  ext: string;
  bytes: number;
  /** A local file with the bytes (the folder store's own file); what rows record as `blob_path`. */
  path: string;
}

/**
 * Content-addressed blob storage. Async so that an object store (S3, Azure) can stand behind it without
 * touching callers; consumers that need a file on disk (sharp, a trainer) ask for `localPath`.
 */
export interface BlobStore {
  put(bytes: Buffer, ext: string): Promise<BlobRef>;
  has(sha256: string, ext: string): Promise<boolean>;
  read(ref: Pick<BlobRef, 'sha256' | 'ext'>): Promise<Buffer>;
  /** A local file holding the blob (fetched into this host's cache first when it is not there yet). */
  localPath(ref: Pick<BlobRef, 'sha256' | 'ext'>): Promise<string>;
  /** This host's file of the blob when it already holds it, else null; never fetches (for cheap facts such as a size). */
  cachedPath(ref: Pick<BlobRef, 'sha256' | 'ext'>): Promise<string | null>;
  /** Remove temp files older than `olderThanMs` left by killed writers; how many were removed. */
  sweepTemp(olderThanMs?: number): Promise<number>;
  /**
   * Delete the blob everywhere this store keeps it (the shared object store too); false when it was not there.
   * The caller makes sure no row names it any more: keys are content hashes, so other rows may share a blob.
   */
  remove(ref: Pick<BlobRef, 'sha256' | 'ext'>): Promise<boolean>;
}

/**
 * The folder store under `<home>/blobs`. Writes go to a temp file in the same folder tree, are fsynced, then
 * renamed into place, so a reader never sees a half-written blob and a process killed mid-write leaves at most
 * a temp file (swept later), never a truncated blob at its final path.
 */
export function createBlobStore(home: string): BlobStore {
  const root = join(home, 'blobs');
  const tmp = join(root, 'tmp');
  const cleanExt = (ext: string) => {
    const e = ext.replace(/^\./, '').toLowerCase();
    if (!/^[a-z0-9]{1,12}$/.test(e)) throw new LoraloopError('INTERNAL', `Bad blob extension "${ext}".`);
    return e;
  };
  const pathFor = (sha: string, ext: string) => join(root, sha.slice(0, 2), `${sha}.${cleanExt(ext)}`);
  const exists = (p: string) =>
    access(p).then(
      () => true,
      () => false,
    );
  return {
    has: (sha, ext) => exists(pathFor(sha, ext)),
    read: (ref) => readFile(pathFor(ref.sha256, ref.ext)),
    localPath: async (ref) => pathFor(ref.sha256, ref.ext),
    cachedPath: async (ref) => {
      const p = pathFor(ref.sha256, ref.ext);
      return (await exists(p)) ? p : null;
    },
    async put(bytes, ext) {
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const ref = { sha256, ext: cleanExt(ext), bytes: bytes.length, path: pathFor(sha256, ext) };
      if (await exists(ref.path)) return ref;
      const tmpPath = join(tmp, `${sha256}.${process.pid}.${randomBytes(6).toString('hex')}.part`);
      try {
        await mkdir(tmp, { recursive: true });
        await mkdir(join(root, sha256.slice(0, 2)), { recursive: true });
        const fh = await open(tmpPath, 'wx');
        try {
          await fh.writeFile(bytes);
          await fh.sync();
        } finally {
          await fh.close();
        }
        // rename is atomic on one filesystem; identical content from another process may win the race,
        // which is fine: the bytes are the same.
        await rename(tmpPath, ref.path);
      } catch (e) {
        await unlink(tmpPath).catch(() => undefined); // already gone
        throw new LoraloopError('STORE_ERROR', `Could not write a blob: ${(e as Error).message}.`, {
          hint: 'Check free disk space and permissions under LORALOOP_HOME.',
          cause: e,
        });
      }
      return ref;
    },
    async remove(ref) {
      try {
        await unlink(pathFor(ref.sha256, ref.ext));
        return true;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
        throw e;
      }
    },
    async sweepTemp(olderThanMs = 60 * 60 * 1000) {
      let removed = 0;
      const cutoff = Date.now() - olderThanMs;
      const names = await readdir(tmp).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return []; // nothing was ever written
        throw e;
      });
      for (const name of names) {
        const p = join(tmp, name);
        try {
          if ((await stat(p)).mtimeMs < cutoff) {
            await unlink(p);
            removed++;
          }
        } catch {
          /* raced with another sweeper */
        }
      }
      return removed;
    },
  };
}

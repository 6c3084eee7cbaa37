import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { LoraloopError } from '../core/errors.js';

/** A stored blob: its content hash and where it lives. */
export interface BlobRef {
  sha256: string;
  path: string;
  bytes: number;
}

/**
 * Content-addressed blob store under `<home>/blobs`. Writes go to a temp file in the same folder tree,
 * are fsynced, then renamed into place, so a reader never sees a half-written blob and a process killed
 * mid-write leaves at most a temp file (swept later), never a truncated blob at its final path.
 */
export interface BlobStore {
  put(bytes: Buffer, ext: string): BlobRef;
  pathFor(sha256: string, ext: string): string;
  has(sha256: string, ext: string): boolean;
  /** Remove temp files older than `olderThanMs` left by killed writers. */
  sweepTemp(olderThanMs?: number): number;
  root: string;
}

export function createBlobStore(home: string): BlobStore {
  const root = join(home, 'blobs');
  const tmp = join(root, 'tmp');
  mkdirSync(tmp, { recursive: true });
  const cleanExt = (ext: string) => {
    const e = ext.replace(/^\./, '').toLowerCase();
    if (!/^[a-z0-9]{1,12}$/.test(e)) throw new LoraloopError('INTERNAL', `Bad blob extension "${ext}".`);
    return e;
  };
  const pathFor = (sha: string, ext: string) => join(root, sha.slice(0, 2), `${sha}.${cleanExt(ext)}`);
  return {
    root,
    pathFor,
    has: (sha, ext) => existsSync(pathFor(sha, ext)),
    put(bytes, ext) {
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      const final = pathFor(sha256, ext);
      if (existsSync(final)) return { sha256, path: final, bytes: bytes.length };
      mkdirSync(join(root, sha256.slice(0, 2)), { recursive: true });
      const tmpPath = join(tmp, `${sha256}.${process.pid}.${randomBytes(6).toString('hex')}.part`);
      try {
        const fd = openSync(tmpPath, 'wx');
        try {
          let off = 0;
          while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        // rename is atomic on one filesystem; identical content from another process may win the race,
        // which is fine: the bytes are the same.
        renameSync(tmpPath, final);
      } catch (e) {
        try {
          unlinkSync(tmpPath);
        } catch {
          /* already gone */
        }
        throw new LoraloopError('STORE_ERROR', `Could not write a blob: ${(e as Error).message}.`, {
          hint: 'Check free disk space and permissions under LORALOOP_HOME.',
          cause: e,
        });
      }
      return { sha256, path: final, bytes: bytes.length };
    },
    sweepTemp(olderThanMs = 60 * 60 * 1000) {
      let removed = 0;
      const cutoff = Date.now() - olderThanMs;
      for (const name of readdirSync(tmp)) {
        const p = join(tmp, name);
        try {
          if (statSync(p).mtimeMs < cutoff) {
            unlinkSync(p);
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

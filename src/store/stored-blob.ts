import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { LoraloopError } from '../core/errors.js';
import type { BlobRef, BlobStore } from './blobs.js';

/**
 * A blob as a row names it: its sha256 and the path the writing host recorded (`blob_path`, `file_path`,
 * `contact_sheet_path`...). That path is the writer's: a host with another LORALOOP_HOME has no such file, so
 * every read goes by the hash through the blob store. The path still gives the extension (blobs are stored as
 * `<sha256>.<ext>`), and is read directly only for a row that has no hash.
 */
export interface StoredBlob {
  sha256: string | null | undefined;
  path: string;
}

/** The blob store's address of a stored blob, or null for a row without a hash. */
export function blobRefOf(b: StoredBlob): Pick<BlobRef, 'sha256' | 'ext'> | null {
  if (!b.sha256) return null;
  const ext = extname(b.path).slice(1).toLowerCase();
  if (!ext) {
    throw new LoraloopError('STORE_ERROR', `The row of blob ${b.sha256} records the path ${b.path}, which has no extension to address the blob by.`, {
      hint: 'The row was written outside loraloop; store the file again.',
    });
  }
  return { sha256: b.sha256, ext };
}

/** A file on this host with the blob's bytes (fetched into this host's blob cache first when needed). */
export async function storedBlobPath(blobs: BlobStore, b: StoredBlob): Promise<string> {
  const ref = blobRefOf(b);
  return ref ? blobs.localPath(ref) : b.path;
}

/** The blob's bytes, by hash. A blob this host's folder lacks is NOT_FOUND (an object store says so itself). */
export async function readStoredBlob(blobs: BlobStore, b: StoredBlob): Promise<Buffer> {
  const ref = blobRefOf(b);
  try {
    return ref ? await blobs.read(ref) : await readFile(b.path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    throw new LoraloopError('NOT_FOUND', `The stored file ${ref ? `${ref.sha256}.${ref.ext}` : b.path} is not in this host's blob folder.`, {
      hint: 'Hosts that share a database must share blobs too: set the same LORALOOP_BLOBS (s3:// or azure://) on every host.',
      cause: e,
    });
  }
}

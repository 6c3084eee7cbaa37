import type { Migration } from '../types.js';

/**
 * An artifact that is a stored blob (a cover, a LoRA file) keeps its sha256: its `path` is the publishing
 * host's, so another host serving the download or the resource reads it from the blob store by hash.
 */
export const artifactBlobs: Migration = {
  id: '009_artifact_blobs',
  sql: `
ALTER TABLE artifacts ADD COLUMN blob_sha256 TEXT; -- NULL: a file that is not a blob (an export, a report), read by path
`,
};

import { stat } from 'node:fs/promises';
import { LoraloopError } from '../core/errors.js';
import type { Artifact } from '../core/result.js';
import type { ArtifactRecord, ArtifactsRepo } from '../store/repos/artifacts.js';
import type { BlobStore } from '../store/blobs.js';
import { blobRefOf, storedBlobPath } from '../store/stored-blob.js';
import type { LinkSigner } from '../core/links.js';

/** URI scheme of everything loraloop makes: `loraloop://artifacts/{id}/{name}`. */
export const ARTIFACT_URI_TEMPLATE = 'loraloop://artifacts/{id}/{name}';
/** Where the HTTP face serves an artifact (behind a signed link). */
export const DOWNLOAD_PREFIX = '/files/';

/** An artifact as a client sees it: its URI, a signed URL where the face has one, and the local path. */
export interface PublishedArtifact {
  uri: string;
  /** Signed, short-lived download URL (HTTP face only; null over stdio, where `path` is readable). */
  url: string | null;
  name: string;
  mime_type: string;
  /** Absolute path on the server, for local clients (for a blob: this host's copy when it holds one, else the writer's path). */
  path: string;
  bytes: number | null;
  title: string | null;
}

export function artifactUri(r: Pick<ArtifactRecord, 'id' | 'name'>): string {
  return `loraloop://artifacts/${r.id}/${encodeURIComponent(r.name)}`;
}

export function downloadPath(r: Pick<ArtifactRecord, 'id' | 'name'>): string {
  return `${DOWNLOAD_PREFIX}${r.id}/${encodeURIComponent(r.name)}`;
}

/** `loraloop://artifacts/{id}/…` or `/files/{id}/…` -> id. */
export function artifactIdFrom(uriOrPath: string): string | undefined {
  const m = /^(?:loraloop:\/\/artifacts|\/files)\/([A-Za-z0-9_-]{10,64})(?:\/|$)/.exec(uriOrPath);
  return m?.[1];
}

export interface ArtifactPublisher {
  publish(a: Artifact): Promise<PublishedArtifact>;
  /** The record behind a URI, or NOT_FOUND. */
  resolve(uri: string): Promise<ArtifactRecord>;
  list(limit: number, cursor?: string): Promise<{ items: PublishedArtifact[]; nextCursor?: string }>;
  /**
   * A file on this host with the artifact's bytes: a blob by its hash (fetched into this host's cache when
   * needed, since its recorded path is the publishing host's), any other file at its path.
   */
  localFile(a: Pick<ArtifactRecord, 'path' | 'blob_sha256'>): Promise<string>;
}

/** Publishes files as resources; `links` is present on the HTTP face only. */
export function createArtifactPublisher(repo: ArtifactsRepo, blobs: BlobStore, links: LinkSigner | undefined): ArtifactPublisher {
  /** This host's file for the size and the local path, without fetching a blob it does not hold. */
  const fileHere = async (r: ArtifactRecord): Promise<string | null> => {
    const ref = blobRefOf({ sha256: r.blob_sha256, path: r.path });
    return ref ? blobs.cachedPath(ref) : r.path;
  };
  const view = async (r: ArtifactRecord, title?: string): Promise<PublishedArtifact> => {
    const file = await fileHere(r);
    const bytes = file ? await stat(file).then((st) => st.size, () => null) : null;
    return { uri: artifactUri(r), url: links ? links.sign(downloadPath(r)) : null, name: r.name, mime_type: r.mime_type, path: file ?? r.path, bytes, title: title ?? null };
  };
  return {
    publish: async (a) => view(await repo.register({ path: a.path, mime_type: a.mime_type, blob_sha256: a.sha256 ?? null }), a.title),
    async resolve(uri) {
      const id = artifactIdFrom(uri);
      const r = id ? await repo.get(id) : undefined;
      if (!r) throw new LoraloopError('NOT_FOUND', `No loraloop resource ${uri}.`, { hint: 'Use a URI from a tool result or from resources/list.' });
      return r;
    },
    async list(limit, cursor) {
      let before: { created_at: string; id: string } | undefined;
      if (cursor) {
        const [created_at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('\n');
        if (created_at && id) before = { created_at, id };
      }
      const rows = await repo.list(limit + 1, before);
      const page = rows.slice(0, limit);
      const lastRow = page[page.length - 1];
      const out: { items: PublishedArtifact[]; nextCursor?: string } = { items: await Promise.all(page.map((r) => view(r))) };
      if (rows.length > limit && lastRow) out.nextCursor = Buffer.from(`${lastRow.created_at}\n${lastRow.id}`).toString('base64url');
      return out;
    },
    localFile: (a) => storedBlobPath(blobs, { sha256: a.blob_sha256, path: a.path }),
  };
}

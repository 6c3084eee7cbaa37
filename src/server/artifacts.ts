import { statSync } from 'node:fs';
import { LoraloopError } from '../core/errors.js';
import type { Artifact } from '../core/result.js';
import type { ArtifactRecord, ArtifactsRepo } from '../store/repos/artifacts.js';
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
  /** Absolute path on the server, for local clients. */
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
}

/** Publishes files as resources; `links` is present on the HTTP face only. */
export function createArtifactPublisher(repo: ArtifactsRepo, links: LinkSigner | undefined): ArtifactPublisher {
  const view = (r: ArtifactRecord, title?: string): PublishedArtifact => {
    let bytes: number | null = null;
    try {
      bytes = statSync(r.path).size;
    } catch {
      bytes = null;
    }
    return { uri: artifactUri(r), url: links ? links.sign(downloadPath(r)) : null, name: r.name, mime_type: r.mime_type, path: r.path, bytes, title: title ?? null };
  };
  return {
    publish: async (a) => view(await repo.register({ path: a.path, mime_type: a.mime_type }), a.title),
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
      const out: { items: PublishedArtifact[]; nextCursor?: string } = { items: page.map((r) => view(r)) };
      if (rows.length > limit && lastRow) out.nextCursor = Buffer.from(`${lastRow.created_at}\n${lastRow.id}`).toString('base64url');
      return out;
    },
  };
}

import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { RepoContext } from '../context.js';
import type { ArtifactsTable } from '../schema.js';

/**
 * A file a tool made or named, published to clients under a stable id. `path` is the publishing host's;
 * `blob_sha256` is set when the file is a stored blob, which any host then reads by hash.
 */
export type ArtifactRecord = ArtifactsTable;

export interface ArtifactsRepo {
  /** Publish a file (idempotent: the same path keeps its id and first publication time). */
  register(a: { path: string; mime_type: string; name?: string; blob_sha256?: string | null }): Promise<ArtifactRecord>;
  get(id: string): Promise<ArtifactRecord | undefined>;
  /** Newest first; `before` is the created_at/id cursor of the last page's final row. */
  list(limit: number, before?: { created_at: string; id: string }): Promise<ArtifactRecord[]>;
}

/** The id is derived from the path, so two processes publishing the same file agree on its URI. */
export function artifactId(path: string): string {
  return createHash('sha256').update(path).digest('base64url').slice(0, 22);
}

export function createArtifactsRepo({ db, now }: RepoContext): ArtifactsRepo {
  return {
    register: (a) =>
      db
        .insertInto('artifacts')
        .values({ id: artifactId(a.path), path: a.path, name: a.name ?? basename(a.path), mime_type: a.mime_type, created_at: now().toISOString(), blob_sha256: a.blob_sha256 ?? null })
        // A later publication without the hash (an older caller) does not forget it.
        .onConflict((oc) =>
          oc.column('id').doUpdateSet((eb) => ({ mime_type: eb.ref('excluded.mime_type'), blob_sha256: eb.fn.coalesce('excluded.blob_sha256', 'artifacts.blob_sha256') })),
        )
        .returningAll()
        .executeTakeFirstOrThrow(),
    get: (id) => db.selectFrom('artifacts').selectAll().where('id', '=', id).executeTakeFirst(),
    list(limit, before) {
      let q = db.selectFrom('artifacts').selectAll();
      if (before) q = q.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(before.created_at, before.id)));
      return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
    },
  };
}

import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import type { Db } from '../db.js';

/** A file a tool made or named, published to clients under a stable id. */
export interface ArtifactRecord {
  id: string;
  path: string;
  name: string;
  mime_type: string;
  created_at: string;
}

export interface ArtifactsRepo {
  /** Publish a file (idempotent: the same path keeps its id and first publication time). */
  register(a: { path: string; mime_type: string; name?: string }): ArtifactRecord;
  get(id: string): ArtifactRecord | undefined;
  /** Newest first; `before` is the created_at/id cursor of the last page's final row. */
  list(limit: number, before?: { created_at: string; id: string }): ArtifactRecord[];
}

/** The id is derived from the path, so two processes publishing the same file agree on its URI. */
export function artifactId(path: string): string {
  return createHash('sha256').update(path).digest('base64url').slice(0, 22);
}

export function createArtifactsRepo(db: Db, now: () => Date = () => new Date()): ArtifactsRepo {
  const ins = db.prepare(`INSERT INTO artifacts (id, path, name, mime_type, created_at) VALUES (@id, @path, @name, @mime_type, @created_at)
    ON CONFLICT(id) DO UPDATE SET mime_type = excluded.mime_type`);
  const one = db.prepare('SELECT * FROM artifacts WHERE id = ?');
  const page = db.prepare('SELECT * FROM artifacts ORDER BY created_at DESC, id DESC LIMIT ?');
  const pageAfter = db.prepare('SELECT * FROM artifacts WHERE (created_at, id) < (?, ?) ORDER BY created_at DESC, id DESC LIMIT ?');
  return {
    register(a) {
      const id = artifactId(a.path);
      ins.run({ id, path: a.path, name: a.name ?? basename(a.path), mime_type: a.mime_type, created_at: now().toISOString() });
      return one.get(id) as ArtifactRecord;
    },
    get: (id) => one.get(id) as ArtifactRecord | undefined,
    list: (limit, before) => (before ? pageAfter.all(before.created_at, before.id, limit) : page.all(limit)) as ArtifactRecord[],
  };
}

import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { RepoContext } from '../context.js';
import { jsonObject, palette, parseJson, parseJsonOr } from '../json.js';
import type { CritiquesTable } from '../schema.js';
import type { Selectable } from 'kysely';

/** One check of the metric critic. */
export interface StoredCheck {
  name: string;
  passed: boolean;
  value: number | string | null;
  detail: string;
}

/** A stored critique: what the critic said about a cover (or a file) at one moment. */
export interface CritiqueRecord {
  id: string;
  cover_id: string | null;
  path: string;
  score: number;
  metric_score: number;
  checks: StoredCheck[];
  vision: Record<string, unknown> | null;
  expect: Record<string, unknown>;
  created_at: string;
}

/** What the critic remembers of a cover's pixels. */
export interface CoverFingerprint {
  phash: string;
  palette: { colors: string[]; scheme: string };
}

export type NewCritique = Omit<CritiqueRecord, 'id' | 'created_at'>;

export interface CritiquesRepo {
  insert(c: NewCritique): Promise<CritiqueRecord>;
  /** The newest critique of a cover. */
  latest(coverId: string): Promise<CritiqueRecord | undefined>;
  /** Cached fingerprint of a cover's PNG (perceptual hash, palette measured from the pixels). */
  fingerprint(coverId: string): Promise<CoverFingerprint | undefined>;
  setFingerprint(coverId: string, fp: CoverFingerprint): Promise<void>;
}

const checks = z.array(
  z.looseObject({ name: z.string(), passed: z.boolean(), value: z.union([z.number(), z.string(), z.null()]), detail: z.string() }),
);

const fromRow = (r: Selectable<CritiquesTable>): CritiqueRecord => {
  const at = (column: string) => ({ table: 'critiques', column, row: r.id });
  return {
    ...r,
    checks: parseJson(checks, r.checks, at('checks')),
    vision: parseJsonOr(jsonObject, r.vision, null, at('vision')),
    expect: parseJson(jsonObject, r.expect, at('expect')),
  };
};

export function createCritiquesRepo({ db, sql, now }: RepoContext): CritiquesRepo {
  return {
    async insert(c) {
      const rec: CritiqueRecord = { ...c, id: `crq_${randomUUID()}`, created_at: now().toISOString() };
      await db
        .insertInto('critiques')
        .values({
          id: rec.id,
          cover_id: rec.cover_id,
          path: rec.path,
          score: rec.score,
          metric_score: rec.metric_score,
          checks: JSON.stringify(rec.checks),
          vision: rec.vision ? JSON.stringify(rec.vision) : null,
          expect: JSON.stringify(rec.expect),
          created_at: rec.created_at,
        })
        .execute();
      return rec;
    },
    async latest(coverId) {
      const r = await db
        .selectFrom('critiques')
        .selectAll()
        .where('cover_id', '=', coverId)
        .orderBy('created_at', 'desc')
        .orderBy(sql.insertionOrder('critiques'), 'desc')
        .limit(1)
        .executeTakeFirst();
      return r ? fromRow(r) : undefined;
    },
    async fingerprint(coverId) {
      const r = await db.selectFrom('cover_fingerprints').select(['phash', 'palette']).where('cover_id', '=', coverId).executeTakeFirst();
      return r ? { phash: r.phash, palette: parseJson(palette, r.palette, { table: 'cover_fingerprints', column: 'palette', row: coverId }) } : undefined;
    },
    async setFingerprint(coverId, fp) {
      const row = { cover_id: coverId, phash: fp.phash, palette: JSON.stringify(fp.palette), created_at: now().toISOString() };
      // INSERT OR REPLACE, spelled the portable way.
      await db
        .insertInto('cover_fingerprints')
        .values(row)
        .onConflict((oc) => oc.column('cover_id').doUpdateSet({ phash: row.phash, palette: row.palette, created_at: row.created_at }))
        .execute();
    },
  };
}

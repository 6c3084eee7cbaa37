import { randomUUID } from 'node:crypto';
import type { Db } from '../db.js';

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
  insert(c: NewCritique): CritiqueRecord;
  /** The newest critique of a cover. */
  latest(coverId: string): CritiqueRecord | undefined;
  /** Cached fingerprint of a cover's PNG (perceptual hash, palette measured from the pixels). */
  fingerprint(coverId: string): CoverFingerprint | undefined;
  setFingerprint(coverId: string, fp: CoverFingerprint): void;
}

interface Row extends Omit<CritiqueRecord, 'checks' | 'vision' | 'expect'> {
  checks: string;
  vision: string | null;
  expect: string;
}

const fromRow = (r: Row): CritiqueRecord => ({
  ...r,
  checks: JSON.parse(r.checks) as StoredCheck[],
  vision: r.vision ? (JSON.parse(r.vision) as Record<string, unknown>) : null,
  expect: JSON.parse(r.expect) as Record<string, unknown>,
});

export function createCritiquesRepo(db: Db, now: () => Date = () => new Date()): CritiquesRepo {
  const ins = db.prepare(`INSERT INTO critiques (id, cover_id, path, score, metric_score, checks, vision, expect, created_at)
    VALUES (@id, @cover_id, @path, @score, @metric_score, @checks, @vision, @expect, @created_at)`);
  const last = db.prepare('SELECT * FROM critiques WHERE cover_id = ? ORDER BY created_at DESC, rowid DESC LIMIT 1');
  const getFp = db.prepare('SELECT phash, palette FROM cover_fingerprints WHERE cover_id = ?');
  const putFp = db.prepare('INSERT OR REPLACE INTO cover_fingerprints (cover_id, phash, palette, created_at) VALUES (?, ?, ?, ?)');
  return {
    insert(c) {
      const rec: CritiqueRecord = { ...c, id: `crq_${randomUUID()}`, created_at: now().toISOString() };
      ins.run({ ...rec, checks: JSON.stringify(rec.checks), vision: rec.vision ? JSON.stringify(rec.vision) : null, expect: JSON.stringify(rec.expect) });
      return rec;
    },
    latest(coverId) {
      const r = last.get(coverId) as Row | undefined;
      return r ? fromRow(r) : undefined;
    },
    fingerprint(coverId) {
      const r = getFp.get(coverId) as { phash: string; palette: string } | undefined;
      return r ? { phash: r.phash, palette: JSON.parse(r.palette) as CoverFingerprint['palette'] } : undefined;
    },
    setFingerprint: (coverId, fp) => void putFp.run(coverId, fp.phash, JSON.stringify(fp.palette), now().toISOString()),
  };
}

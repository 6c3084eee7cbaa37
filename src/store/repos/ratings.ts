import { randomUUID } from 'node:crypto';
import type { Db } from '../db.js';

/** One rating of a cover, with the facts of the cover copied in so stats survive later edits. */
export interface RatingRecord {
  id: string;
  cover_id: string;
  stars: number;
  comment: string | null;
  /** Who rated ('' = anonymous). A rater's latest rating of a cover replaces their earlier ones. */
  rater: string;
  lora: string | null;
  lora_version: number | null;
  coin: string | null;
  checkpoint: string | null;
  created_at: string;
}

export type NewRating = Omit<RatingRecord, 'id' | 'created_at'>;

/** Which set of its LoRA a rated cover belongs to. */
export type Polarity = 'positive' | 'negative';

/** A cover in a LoRA's feedback set, with what the nightly run needs to use it. */
export interface FeedbackEntry {
  lora: string;
  cover_id: string;
  polarity: Polarity;
  mean_stars: number;
  lora_version: number | null;
  updated_at: string;
  title: string;
  blob_path: string;
}

/** Rating figures of one LoRA, coin or checkpoint (latest rating per rater and cover). */
export interface RatingStat {
  key: string;
  /** Ratings that count (each rater's latest per cover). */
  ratings: number;
  covers: number;
  mean_stars: number;
  /** Covers whose mean is >= 4 (positive set) / < 3 (negative set). */
  positive: number;
  negative: number;
}

/** How covers' ratings are grouped in {@link RatingsRepo.stats}. */
export type RatingGroup = 'lora' | 'coin' | 'checkpoint';

export interface RatingsRepo {
  add(r: NewRating): RatingRecord;
  /** Ratings of a cover that count: the latest of each rater, newest first. */
  effective(coverId: string): RatingRecord[];
  /** Every rating made at or after `since` (ISO time), oldest first (the nightly run's "what is new"). */
  since(since: string, limit?: number): RatingRecord[];
  /** Put a cover in a LoRA's positive or negative set, or take it out (null). */
  setFeedback(lora: string, coverId: string, polarity: Polarity | null, meanStars: number, loraVersion: number | null): void;
  /** A LoRA's feedback set(s), newest first. */
  feedback(lora: string, polarity?: Polarity): FeedbackEntry[];
  /** Figures per LoRA, coin or checkpoint; `key` filters to one. Rows without a value (no LoRA) are left out. */
  stats(group: RatingGroup, key?: string): RatingStat[];
}

const LATEST = `SELECT * FROM (SELECT r.*, ROW_NUMBER() OVER (PARTITION BY cover_id, rater ORDER BY created_at DESC, rowid DESC) AS rn
  FROM ratings r) WHERE rn = 1`;

export function createRatingsRepo(db: Db, now: () => Date = () => new Date()): RatingsRepo {
  const ins = db.prepare(`INSERT INTO ratings (id, cover_id, stars, comment, rater, lora, lora_version, coin, checkpoint, created_at)
    VALUES (@id, @cover_id, @stars, @comment, @rater, @lora, @lora_version, @coin, @checkpoint, @created_at)`);
  const eff = db.prepare(`${LATEST.replace('FROM ratings r', 'FROM ratings r WHERE cover_id = ?')} ORDER BY created_at DESC`);
  const sinceQ = db.prepare('SELECT * FROM ratings WHERE created_at >= ? ORDER BY created_at, rowid LIMIT ?');
  const upsertFb = db.prepare(`INSERT INTO lora_feedback (lora, cover_id, polarity, mean_stars, lora_version, updated_at)
    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(lora, cover_id) DO UPDATE SET polarity = excluded.polarity,
    mean_stars = excluded.mean_stars, lora_version = excluded.lora_version, updated_at = excluded.updated_at`);
  const delFb = db.prepare('DELETE FROM lora_feedback WHERE lora = ? AND cover_id = ?');
  const strip = (r: RatingRecord & { rn?: number }): RatingRecord => {
    const { rn: _rn, ...rest } = r;
    return rest;
  };
  return {
    add(r) {
      const rec: RatingRecord = { ...r, id: `rat_${randomUUID()}`, created_at: now().toISOString() };
      ins.run(rec);
      return rec;
    },
    effective: (coverId) => (eff.all(coverId) as Array<RatingRecord & { rn: number }>).map(strip),
    since: (since, limit = 10_000) => sinceQ.all(since, limit) as RatingRecord[],
    setFeedback(lora, coverId, polarity, meanStars, loraVersion) {
      if (polarity === null) delFb.run(lora, coverId);
      else upsertFb.run(lora, coverId, polarity, meanStars, loraVersion, now().toISOString());
    },
    feedback(lora, polarity) {
      const rows = db
        .prepare(
          `SELECT f.*, c.title AS title, c.blob_path AS blob_path FROM lora_feedback f JOIN covers c ON c.id = f.cover_id
           WHERE f.lora = ? ${polarity ? 'AND f.polarity = ?' : ''} ORDER BY f.updated_at DESC, f.rowid DESC`,
        )
        .all(...(polarity ? [lora, polarity] : [lora])) as FeedbackEntry[];
      return rows;
    },
    stats(group, key) {
      const col = group === 'lora' ? 'lora' : group === 'coin' ? 'coin' : 'checkpoint';
      const rows = db
        .prepare(
          `WITH latest AS (${LATEST}),
           per_cover AS (SELECT cover_id, ${col} AS k, AVG(stars) AS mean, COUNT(*) AS n FROM latest
             WHERE ${col} IS NOT NULL ${key !== undefined ? `AND ${col} = ?` : ''} GROUP BY cover_id, ${col})
           SELECT k AS key, SUM(n) AS ratings, COUNT(*) AS covers, SUM(mean * n) * 1.0 / SUM(n) AS mean_stars,
             SUM(CASE WHEN mean >= 4 THEN 1 ELSE 0 END) AS positive, SUM(CASE WHEN mean < 3 THEN 1 ELSE 0 END) AS negative
           FROM per_cover GROUP BY k ORDER BY ratings DESC, k`,
        )
        .all(...(key !== undefined ? [key] : [])) as RatingStat[];
      return rows.map((r) => ({ ...r, mean_stars: Math.round(r.mean_stars * 100) / 100 }));
    },
  };
}

import { randomUUID } from 'node:crypto';
import type { Kysely } from 'kysely';
import { sql as raw } from '../kysely.js';
import type { DialectSql } from '../backend.js';
import type { RepoContext } from '../context.js';
import type { Database, RatingsTable } from '../schema.js';

/** One rating of a cover, with the facts of the cover copied in so stats survive later edits. */
export type RatingRecord = RatingsTable;

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
  blob_sha256: string;
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
  add(r: NewRating): Promise<RatingRecord>;
  /** Ratings of a cover that count: the latest of each rater, newest first. */
  effective(coverId: string): Promise<RatingRecord[]>;
  /** Every rating made at or after `since` (ISO time), oldest first (the nightly run's "what is new"). */
  since(since: string, limit?: number): Promise<RatingRecord[]>;
  /** Put a cover in a LoRA's positive or negative set, or take it out (null). */
  setFeedback(lora: string, coverId: string, polarity: Polarity | null, meanStars: number, loraVersion: number | null): Promise<void>;
  /** A LoRA's feedback set(s), newest first. */
  feedback(lora: string, polarity?: Polarity): Promise<FeedbackEntry[]>;
  /** Figures per LoRA, coin or checkpoint; `key` filters to one. Rows without a value (no LoRA) are left out. */
  stats(group: RatingGroup, key?: string): Promise<RatingStat[]>;
}

/** Each rater's latest rating of each cover (optionally of one cover only). */
function latestRatings(db: Kysely<Database>, dialect: DialectSql, coverId?: string) {
  let ranked = db
    .selectFrom('ratings')
    .selectAll('ratings')
    .select((eb) =>
      eb.fn
        .agg<number>('row_number')
        .over((ob) => ob.partitionBy(['cover_id', 'rater']).orderBy('created_at', 'desc').orderBy(dialect.insertionOrder('ratings'), 'desc'))
        .as('rn'),
    );
  if (coverId !== undefined) ranked = ranked.where('cover_id', '=', coverId);
  return db.selectFrom(ranked.as('ranked')).selectAll().where('rn', '=', 1);
}

export function createRatingsRepo({ db, sql, now }: RepoContext): RatingsRepo {
  const strip = (r: RatingRecord & { rn?: number }): RatingRecord => {
    const { rn: _rn, ...rest } = r;
    return rest;
  };
  return {
    async add(r) {
      const rec: RatingRecord = { ...r, id: `rat_${randomUUID()}`, created_at: now().toISOString() };
      await db
        .insertInto('ratings')
        .values({
          id: rec.id,
          cover_id: rec.cover_id,
          stars: rec.stars,
          comment: rec.comment,
          rater: rec.rater,
          lora: rec.lora,
          lora_version: rec.lora_version,
          coin: rec.coin,
          checkpoint: rec.checkpoint,
          created_at: rec.created_at,
        })
        .execute();
      return rec;
    },
    effective: async (coverId) => (await latestRatings(db, sql, coverId).orderBy('created_at', 'desc').execute()).map(strip),
    since: (since, limit = 10_000) =>
      db.selectFrom('ratings').selectAll().where('created_at', '>=', since).orderBy('created_at').orderBy(sql.insertionOrder('ratings')).limit(limit).execute(),
    async setFeedback(lora, coverId, polarity, meanStars, loraVersion) {
      if (polarity === null) {
        await db.deleteFrom('lora_feedback').where('lora', '=', lora).where('cover_id', '=', coverId).execute();
        return;
      }
      const row = { lora, cover_id: coverId, polarity, mean_stars: meanStars, lora_version: loraVersion, updated_at: now().toISOString() };
      await db
        .insertInto('lora_feedback')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['lora', 'cover_id']).doUpdateSet({ polarity, mean_stars: meanStars, lora_version: loraVersion, updated_at: row.updated_at }),
        )
        .execute();
    },
    async feedback(lora, polarity) {
      let q = db
        .selectFrom('lora_feedback')
        .innerJoin('covers', 'covers.id', 'lora_feedback.cover_id')
        .selectAll('lora_feedback')
        .select(['covers.title as title', 'covers.blob_sha256 as blob_sha256', 'covers.blob_path as blob_path'])
        .where('lora_feedback.lora', '=', lora);
      if (polarity) q = q.where('lora_feedback.polarity', '=', polarity);
      const rows = await q.orderBy('lora_feedback.updated_at', 'desc').orderBy(sql.insertionOrder('lora_feedback'), 'desc').execute();
      return rows as FeedbackEntry[];
    },
    async stats(group, key) {
      const col = group === 'lora' ? 'lora' : group === 'coin' ? 'coin' : 'checkpoint';
      const rows = await db
        .with('latest', () => latestRatings(db, sql))
        .with('per_cover', (qb) => {
          let p = qb
            .selectFrom('latest')
            .select((eb) => ['cover_id', eb.ref(col).as('k'), eb.fn.avg<number>('stars').as('mean'), eb.fn.countAll<number>().as('n')])
            .where(col, 'is not', null);
          if (key !== undefined) p = p.where(col, '=', key);
          return p.groupBy(['cover_id', col]);
        })
        .selectFrom('per_cover')
        .select((eb) => [
          eb.ref('k').as('key'),
          eb.fn.sum<number>('n').as('ratings'),
          eb.fn.countAll<number>().as('covers'),
          raw<number>`SUM(mean * n) * 1.0 / SUM(n)`.as('mean_stars'),
          raw<number>`SUM(CASE WHEN mean >= 4 THEN 1 ELSE 0 END)`.as('positive'),
          raw<number>`SUM(CASE WHEN mean < 3 THEN 1 ELSE 0 END)`.as('negative'),
        ])
        .groupBy('k')
        .orderBy('ratings', 'desc')
        .orderBy('k')
        .execute();
      return (rows as RatingStat[]).map((r) => ({ ...r, mean_stars: Math.round(r.mean_stars * 100) / 100 }));
    },
  };
}

/**
 * The items dataset_collect has seen, keyed by image URL (or file:// path), so a feed polled every night
 * never takes the same image twice. `added` and `duplicate` are final; items that could not be placed
 * (no coin, no project, a failed download) are tried again on the next collection, up to MAX_ATTEMPTS
 * for failures, so a project created later still receives them.
 */
import type { Db } from '../../store/db.js';

export type CollectedStatus = 'added' | 'duplicate' | 'no_coin' | 'no_project' | 'failed';

/** Failed downloads are retried on later collections this many times in all. */
export const MAX_ATTEMPTS = 3;

export interface CollectedItem {
  key: string;
  source: string;
  title: string;
  article_url: string | null;
  coin: string | null;
  lora_id: string | null;
  image_id: string | null;
  status: CollectedStatus;
  detail: string | null;
  attempts: number;
  first_seen_at: string;
  updated_at: string;
}

export interface CollectedItemsRepo {
  get(key: string): CollectedItem | undefined;
  /** Insert or update the item's outcome (attempts counts every record call). */
  record(item: Omit<CollectedItem, 'attempts' | 'first_seen_at' | 'updated_at'>): CollectedItem;
  /** Items recorded (or updated) after `sinceIso`, oldest first. */
  since(sinceIso: string): CollectedItem[];
}

/** Is this item settled (never to be tried again)? */
export function isSettled(item: CollectedItem | undefined): boolean {
  if (!item) return false;
  if (item.status === 'added' || item.status === 'duplicate') return true;
  return item.status === 'failed' && item.attempts >= MAX_ATTEMPTS;
}

export function createCollectedItemsRepo(db: Db, now: () => Date = () => new Date()): CollectedItemsRepo {
  const one = db.prepare('SELECT * FROM collected_items WHERE key = ?');
  const upsert = db.prepare(`INSERT INTO collected_items (key, source, title, article_url, coin, lora_id, image_id, status, detail, attempts, first_seen_at, updated_at)
    VALUES (@key, @source, @title, @article_url, @coin, @lora_id, @image_id, @status, @detail, 1, @t, @t)
    ON CONFLICT(key) DO UPDATE SET source = excluded.source, title = excluded.title, article_url = excluded.article_url, coin = excluded.coin,
      lora_id = excluded.lora_id, image_id = excluded.image_id, status = excluded.status, detail = excluded.detail,
      attempts = collected_items.attempts + 1, updated_at = excluded.updated_at`);
  const after = db.prepare('SELECT * FROM collected_items WHERE updated_at > ? ORDER BY updated_at, rowid');
  const repo: CollectedItemsRepo = {
    get: (key) => one.get(key) as CollectedItem | undefined,
    record(item) {
      upsert.run({ ...item, t: now().toISOString() });
      return repo.get(item.key)!;
    },
    since: (sinceIso) => after.all(sinceIso) as CollectedItem[],
  };
  return repo;
}

import type { RepoContext } from '../context.js';
import type { CollectedItemsTable } from '../schema.js';

export type CollectedStatus = 'added' | 'duplicate' | 'no_coin' | 'no_project' | 'failed';

/** An item dataset_collect has seen, keyed by image URL (or file://<real path> for a folder). */
export interface CollectedItem extends Omit<CollectedItemsTable, 'status'> {
  status: CollectedStatus;
}

export interface CollectedItemsRepo {
  get(key: string): Promise<CollectedItem | undefined>;
  /** Insert or update the item's outcome (attempts counts every record call). */
  record(item: Omit<CollectedItem, 'attempts' | 'first_seen_at' | 'updated_at'>): Promise<CollectedItem>;
  /** Items recorded (or updated) after `sinceIso`, oldest first. */
  since(sinceIso: string): Promise<CollectedItem[]>;
}

export function createCollectedItemsRepo({ db, sql, now }: RepoContext): CollectedItemsRepo {
  const get = async (key: string) => (await db.selectFrom('collected_items').selectAll().where('key', '=', key).executeTakeFirst()) as CollectedItem | undefined;
  return {
    get,
    async record(item) {
      const t = now().toISOString();
      const row = {
        key: item.key,
        source: item.source,
        title: item.title,
        article_url: item.article_url,
        coin: item.coin,
        lora_id: item.lora_id,
        image_id: item.image_id,
        status: item.status,
        detail: item.detail,
        attempts: 1,
        first_seen_at: t,
        updated_at: t,
      };
      await db
        .insertInto('collected_items')
        .values(row)
        .onConflict((oc) =>
          oc.column('key').doUpdateSet((eb) => ({
            source: row.source,
            title: row.title,
            article_url: row.article_url,
            coin: row.coin,
            lora_id: row.lora_id,
            image_id: row.image_id,
            status: row.status,
            detail: row.detail,
            attempts: eb('collected_items.attempts', '+', 1),
            updated_at: row.updated_at,
          })),
        )
        .execute();
      return (await get(item.key))!;
    },
    since: async (sinceIso) =>
      (await db
        .selectFrom('collected_items')
        .selectAll()
        .where('updated_at', '>', sinceIso)
        .orderBy('updated_at')
        .orderBy(sql.insertionOrder('collected_items'))
        .execute()) as CollectedItem[],
  };
}

import { z } from 'zod';
import type { RepoContext } from '../context.js';
import { parseJson } from '../json.js';

/** Small JSON settings and counters that are not worth a table of their own. */
export interface KvRepo {
  /** The value is any JSON; the caller that wrote it knows its shape. */
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown): Promise<void>;
}

export function createKvRepo({ db, now }: RepoContext): KvRepo {
  return {
    async get<T>(key: string) {
      const r = await db.selectFrom('kv').select('value').where('key', '=', key).executeTakeFirst();
      return r ? (parseJson(z.unknown(), r.value, { table: 'kv', column: 'value', row: key }) as T) : undefined;
    },
    async set(key, value) {
      const row = { key, value: JSON.stringify(value), updated_at: now().toISOString() };
      await db
        .insertInto('kv')
        .values(row)
        .onConflict((oc) => oc.column('key').doUpdateSet({ value: row.value, updated_at: row.updated_at }))
        .execute();
    },
  };
}

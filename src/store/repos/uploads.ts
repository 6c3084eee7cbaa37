import { randomBytes } from 'node:crypto';
import type { Selectable } from 'kysely';
import { z } from 'zod';
import type { RepoContext } from '../context.js';
import { parseJsonOr } from '../json.js';
import type { UploadSlotsTable } from '../schema.js';

/** A single-use upload URL's server side: which project it feeds, how big it may be, until when. */
export interface UploadSlot {
  id: string;
  lora_id: string;
  max_bytes: number;
  expires_at: string;
  used_at: string | null;
  result: unknown;
}

export interface UploadSlotsRepo {
  create(s: { lora_id: string; max_bytes: number; ttlSeconds: number }): Promise<UploadSlot>;
  get(id: string): Promise<UploadSlot | undefined>;
  /** Mark the slot used; false when it was used already or has expired (only one PUT ever wins). */
  take(id: string): Promise<boolean>;
  finish(id: string, result: unknown): Promise<void>;
}

const parse = (r: Selectable<UploadSlotsTable>): UploadSlot => ({
  ...r,
  result: r.result ? parseJsonOr(z.unknown(), r.result, null, { table: 'upload_slots', column: 'result', row: r.id }) : null,
});

export function createUploadSlotsRepo({ db, now }: RepoContext): UploadSlotsRepo {
  return {
    async create(s) {
      const id = `up_${randomBytes(16).toString('base64url')}`;
      const expires = new Date(now().getTime() + s.ttlSeconds * 1000).toISOString();
      const row = await db
        .insertInto('upload_slots')
        .values({ id, lora_id: s.lora_id, max_bytes: s.max_bytes, expires_at: expires, used_at: null, result: null })
        .returningAll()
        .executeTakeFirstOrThrow();
      return parse(row);
    },
    async get(id) {
      const r = await db.selectFrom('upload_slots').selectAll().where('id', '=', id).executeTakeFirst();
      return r ? parse(r) : undefined;
    },
    async take(id) {
      const t = now().toISOString();
      // One statement: of two PUTs at once, the second finds used_at set and matches no row.
      const won = await db
        .updateTable('upload_slots')
        .set({ used_at: t })
        .where('id', '=', id)
        .where('used_at', 'is', null)
        .where('expires_at', '>=', t)
        .returning('id')
        .executeTakeFirst();
      return won !== undefined;
    },
    async finish(id, result) {
      await db.updateTable('upload_slots').set({ result: JSON.stringify(result) }).where('id', '=', id).execute();
    },
  };
}

import type { RepoContext } from '../context.js';
import { jsonObject, parseJson } from '../json.js';

/**
 * Storage for the embedded OAuth server's records (the shape oidc-provider's adapter interface asks for):
 * one row per model and id, its JSON payload, and the grant id and uid it is looked up by.
 */
export interface OAuthRecordsRepo {
  upsert(model: string, id: string, payload: Record<string, unknown>, expiresInSeconds: number | undefined): Promise<void>;
  find(model: string, id: string): Promise<Record<string, unknown> | undefined>;
  findByUid(model: string, uid: string): Promise<Record<string, unknown> | undefined>;
  findByUserCode(model: string, userCode: string): Promise<Record<string, unknown> | undefined>;
  consume(model: string, id: string): Promise<void>;
  destroy(model: string, id: string): Promise<void>;
  /** Drop every record of a grant (revocation of a refresh token ends its access tokens too). */
  revokeByGrantId(grantId: string): Promise<void>;
}

interface Row {
  model: string;
  id: string;
  payload: string;
  consumed_at: string | null;
  expires_at: string | null;
}

const COLUMNS = ['model', 'id', 'payload', 'consumed_at', 'expires_at'] as const;

export function createOAuthRecordsRepo({ db, now }: RepoContext): OAuthRecordsRepo {
  let lastSweep = 0;
  const live = (r: Row | undefined): Record<string, unknown> | undefined => {
    if (!r) return undefined;
    if (r.expires_at && r.expires_at < now().toISOString()) return undefined;
    const p = parseJson(jsonObject, r.payload, { table: 'oauth_records', column: 'payload', row: `${r.model}/${r.id}` });
    // oidc-provider reads `consumed` to refuse a second use of a code (and to detect refresh token reuse).
    return r.consumed_at ? { ...p, consumed: Math.floor(Date.parse(r.consumed_at) / 1000) } : p;
  };
  return {
    async upsert(model, id, payload, expiresIn) {
      const t = now();
      // Expired rows are useless to everyone; sweep them now and then instead of on every write.
      if (t.getTime() - lastSweep > 60_000) {
        await db.deleteFrom('oauth_records').where('expires_at', 'is not', null).where('expires_at', '<', t.toISOString()).execute();
        lastSweep = t.getTime();
      }
      const row = {
        model,
        id,
        payload: JSON.stringify(payload),
        grant_id: typeof payload.grantId === 'string' ? payload.grantId : null,
        uid: typeof payload.uid === 'string' ? payload.uid : null,
        consumed_at: null,
        expires_at: expiresIn ? new Date(t.getTime() + expiresIn * 1000).toISOString() : null,
      };
      await db
        .insertInto('oauth_records')
        .values(row)
        .onConflict((oc) =>
          oc.columns(['model', 'id']).doUpdateSet({ payload: row.payload, grant_id: row.grant_id, uid: row.uid, expires_at: row.expires_at }),
        )
        .execute();
    },
    find: async (model, id) => live(await db.selectFrom('oauth_records').select(COLUMNS).where('model', '=', model).where('id', '=', id).executeTakeFirst()),
    findByUid: async (model, uid) =>
      live(await db.selectFrom('oauth_records').select(COLUMNS).where('model', '=', model).where('uid', '=', uid).executeTakeFirst()),
    async findByUserCode(model, userCode) {
      // Device flow is not enabled; kept for the adapter contract. A linear scan is fine for that reason.
      for (const r of await db.selectFrom('oauth_records').select(COLUMNS).where('model', '=', model).execute()) {
        const p = live(r);
        if (p && p.userCode === userCode) return p;
      }
      return undefined;
    },
    async consume(model, id) {
      await db.updateTable('oauth_records').set({ consumed_at: now().toISOString() }).where('model', '=', model).where('id', '=', id).execute();
    },
    async destroy(model, id) {
      await db.deleteFrom('oauth_records').where('model', '=', model).where('id', '=', id).execute();
    },
    async revokeByGrantId(grantId) {
      await db.deleteFrom('oauth_records').where('grant_id', '=', grantId).execute();
    },
  };
}

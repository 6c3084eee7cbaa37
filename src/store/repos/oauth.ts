import type { Db } from '../db.js';

/**
 * Storage for the embedded OAuth server's records (the shape oidc-provider's adapter interface asks for):
 * one row per model and id, its JSON payload, and the grant id and uid it is looked up by.
 */
export interface OAuthRecordsRepo {
  upsert(model: string, id: string, payload: Record<string, unknown>, expiresInSeconds: number | undefined): void;
  find(model: string, id: string): Record<string, unknown> | undefined;
  findByUid(model: string, uid: string): Record<string, unknown> | undefined;
  findByUserCode(model: string, userCode: string): Record<string, unknown> | undefined;
  consume(model: string, id: string): void;
  destroy(model: string, id: string): void;
  /** Drop every record of a grant (revocation of a refresh token ends its access tokens too). */
  revokeByGrantId(grantId: string): void;
}

interface Row {
  payload: string;
  consumed_at: string | null;
  expires_at: string | null;
}

export function createOAuthRecordsRepo(db: Db, now: () => Date = () => new Date()): OAuthRecordsRepo {
  const up = db.prepare(`INSERT INTO oauth_records (model, id, payload, grant_id, uid, consumed_at, expires_at)
    VALUES (@model, @id, @payload, @grant_id, @uid, NULL, @expires_at)
    ON CONFLICT(model, id) DO UPDATE SET payload = excluded.payload, grant_id = excluded.grant_id, uid = excluded.uid,
      expires_at = excluded.expires_at`);
  const byId = db.prepare('SELECT payload, consumed_at, expires_at FROM oauth_records WHERE model = ? AND id = ?');
  const byUid = db.prepare('SELECT payload, consumed_at, expires_at FROM oauth_records WHERE model = ? AND uid = ?');
  const all = db.prepare('SELECT payload, consumed_at, expires_at FROM oauth_records WHERE model = ?');
  const consume = db.prepare('UPDATE oauth_records SET consumed_at = ? WHERE model = ? AND id = ?');
  const del = db.prepare('DELETE FROM oauth_records WHERE model = ? AND id = ?');
  const delGrant = db.prepare('DELETE FROM oauth_records WHERE grant_id = ?');
  const sweep = db.prepare('DELETE FROM oauth_records WHERE expires_at IS NOT NULL AND expires_at < ?');
  let lastSweep = 0;
  const live = (r: Row | undefined): Record<string, unknown> | undefined => {
    if (!r) return undefined;
    if (r.expires_at && r.expires_at < now().toISOString()) return undefined;
    const p = JSON.parse(r.payload) as Record<string, unknown>;
    // oidc-provider reads `consumed` to refuse a second use of a code (and to detect refresh token reuse).
    return r.consumed_at ? { ...p, consumed: Math.floor(Date.parse(r.consumed_at) / 1000) } : p;
  };
  return {
    upsert(model, id, payload, expiresIn) {
      const t = now();
      // Expired rows are useless to everyone; sweep them now and then instead of on every write.
      if (t.getTime() - lastSweep > 60_000) {
        sweep.run(t.toISOString());
        lastSweep = t.getTime();
      }
      up.run({
        model,
        id,
        payload: JSON.stringify(payload),
        grant_id: typeof payload.grantId === 'string' ? payload.grantId : null,
        uid: typeof payload.uid === 'string' ? payload.uid : null,
        expires_at: expiresIn ? new Date(t.getTime() + expiresIn * 1000).toISOString() : null,
      });
    },
    find: (model, id) => live(byId.get(model, id) as Row | undefined),
    findByUid: (model, uid) => live(byUid.get(model, uid) as Row | undefined),
    findByUserCode(model, userCode) {
      // Device flow is not enabled; kept for the adapter contract. A linear scan is fine for that reason.
      for (const r of all.all(model) as Row[]) {
        const p = live(r);
        if (p && p.userCode === userCode) return p;
      }
      return undefined;
    },
    consume: (model, id) => void consume.run(now().toISOString(), model, id),
    destroy: (model, id) => void del.run(model, id),
    revokeByGrantId: (grantId) => void delGrant.run(grantId),
  };
}

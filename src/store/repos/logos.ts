import type { RepoContext } from '../context.js';

/** A logo a user registered for a coin; it wins over the icon set. */
export interface LogoRecord {
  symbol: string;
  blob_sha256: string;
  blob_path: string;
  mime_type: string;
  registered_at: string;
}

export interface LogosRepo {
  upsert(l: Omit<LogoRecord, 'registered_at'>): Promise<LogoRecord>;
  get(symbol: string): Promise<LogoRecord | undefined>;
  list(): Promise<LogoRecord[]>;
}

export function createLogosRepo({ db, now }: RepoContext): LogosRepo {
  return {
    async upsert(l) {
      const rec = { ...l, symbol: l.symbol.toUpperCase(), registered_at: now().toISOString() };
      const row = { symbol: rec.symbol, blob_sha256: rec.blob_sha256, blob_path: rec.blob_path, mime_type: rec.mime_type, registered_at: rec.registered_at };
      await db
        .insertInto('logos')
        .values(row)
        .onConflict((oc) =>
          oc.column('symbol').doUpdateSet({ blob_sha256: row.blob_sha256, blob_path: row.blob_path, mime_type: row.mime_type, registered_at: row.registered_at }),
        )
        .execute();
      return rec;
    },
    get: (symbol) => db.selectFrom('logos').selectAll().where('symbol', '=', symbol.toUpperCase()).executeTakeFirst(),
    list: () => db.selectFrom('logos').selectAll().orderBy('symbol').execute(),
  };
}

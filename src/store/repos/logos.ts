import type { Db } from '../db.js';

/** A logo a user registered for a coin; it wins over the icon set. */
export interface LogoRecord {
  symbol: string;
  blob_sha256: string;
  blob_path: string;
  mime_type: string;
  registered_at: string;
}

export interface LogosRepo {
  upsert(l: Omit<LogoRecord, 'registered_at'>): LogoRecord;
  get(symbol: string): LogoRecord | undefined;
  list(): LogoRecord[];
}

export function createLogosRepo(db: Db, now: () => Date = () => new Date()): LogosRepo {
  const up = db.prepare(`INSERT INTO logos (symbol, blob_sha256, blob_path, mime_type, registered_at)
    VALUES (@symbol, @blob_sha256, @blob_path, @mime_type, @registered_at)
    ON CONFLICT(symbol) DO UPDATE SET blob_sha256 = excluded.blob_sha256, blob_path = excluded.blob_path,
      mime_type = excluded.mime_type, registered_at = excluded.registered_at`);
  const one = db.prepare('SELECT * FROM logos WHERE symbol = ?');
  const all = db.prepare('SELECT * FROM logos ORDER BY symbol');
  return {
    upsert(l) {
      const rec = { ...l, symbol: l.symbol.toUpperCase(), registered_at: now().toISOString() };
      up.run(rec);
      return rec;
    },
    get: (symbol) => one.get(symbol.toUpperCase()) as LogoRecord | undefined,
    list: () => all.all() as LogoRecord[],
  };
}

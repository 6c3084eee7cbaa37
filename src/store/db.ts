import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LoraloopError } from '../core/errors.js';
import type { Migration } from './migrations/types.js';

export type Db = Database.Database;

/**
 * Open the SQLite file under `home` in WAL mode, shared by every loraloop process on the host
 * (an MCP server per client, the Slack bot, the nightly run). busy_timeout makes writers queue
 * instead of failing with SQLITE_BUSY when another process holds the write lock.
 */
export function openDatabase(home: string, migrations: readonly Migration[]): Db {
  mkdirSync(home, { recursive: true });
  let db: Db;
  try {
    db = new Database(join(home, 'loraloop.db'));
  } catch (e) {
    throw new LoraloopError('STORE_ERROR', `Cannot open the database in ${home}: ${(e as Error).message}.`, {
      hint: 'Check that LORALOOP_HOME points to a writable folder.',
      cause: e,
    });
  }
  db.pragma('busy_timeout = 10000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  migrate(db, migrations);
  return db;
}

/**
 * Apply pending migrations in id order. BEGIN IMMEDIATE takes the write lock first, so two processes
 * starting at once cannot both apply the same migration: the second waits, then sees it applied.
 */
export function migrate(db: Db, migrations: readonly Migration[]): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    id TEXT PRIMARY KEY,
    applied_at TEXT NOT NULL
  )`);
  const sorted = [...migrations].sort((a, b) => a.id.localeCompare(b.id));
  const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE id = ?');
  const record = db.prepare('INSERT INTO schema_migrations (id, applied_at) VALUES (?, ?)');
  for (const m of sorted) {
    if (isApplied.get(m.id)) continue;
    const apply = db.transaction(() => {
      if (isApplied.get(m.id)) return;
      db.exec(m.sql);
      record.run(m.id, new Date().toISOString());
    });
    apply.immediate();
  }
}

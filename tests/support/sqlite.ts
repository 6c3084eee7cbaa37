/**
 * The store's SQLite file opened directly, as another program on the host could: for tests that count rows the
 * repositories do not count, simulate a crash by rewinding rows, or damage a row on purpose. The only place
 * outside src/store that touches the database (eslint enforces it).
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';

const open = new Map<string, Database.Database>();

/** A connection to `<home>/loraloop.db`, reused per home. Use it after the store has opened the file. */
export function storeFile(home: string): Database.Database {
  const path = join(home, 'loraloop.db');
  let db = open.get(path);
  if (!db?.open) {
    db = new Database(path, { fileMustExist: true });
    db.pragma('busy_timeout = 10000');
    open.set(path, db);
  }
  return db;
}

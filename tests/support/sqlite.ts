/**
 * The store's database opened directly, as another program could: for tests that count rows the repositories do
 * not count, simulate a crash by rewinding rows, or damage a row on purpose. The only place outside src/store
 * that touches the database (eslint enforces it). On SQLite it is `<home>/loraloop.db`; in the PostgreSQL
 * parity run it is the test's own database, queried through psql so the tests stay synchronous.
 */
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { databaseUrlFor } from './database.js';

/** The part of better-sqlite3's statement API the tests use. */
export interface RawStatement {
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): unknown;
}
export interface RawDb {
  dialect: 'sqlite' | 'postgres';
  prepare(sql: string): RawStatement;
}

const open = new Map<string, Database.Database>();

/** A connection to the store of `home`, reused per home. Use it after the store has opened its database. */
export function storeFile(home: string): RawDb {
  const url = databaseUrlFor(home);
  if (url) return postgresRaw(url);
  const path = join(home, 'loraloop.db');
  let db = open.get(path);
  if (!db?.open) {
    db = new Database(path, { fileMustExist: true });
    db.pragma('busy_timeout = 10000');
    open.set(path, db);
  }
  const sqlite = db;
  return { dialect: 'sqlite', prepare: (sql) => sqlite.prepare(sql) as unknown as RawStatement };
}

/** `?` placeholders filled with quoted literals: test-only SQL with test-only values. */
function inline(sql: string, params: unknown[]): string {
  let i = 0;
  return sql.replace(/\?/g, () => {
    const v = params[i++];
    if (v === null || v === undefined) return 'NULL';
    if (typeof v === 'number' || typeof v === 'bigint') return String(v);
    return `'${String(v).replace(/'/g, "''")}'`;
  });
}

function postgresRaw(url: string): RawDb {
  const psql = (sql: string) => execFileSync('psql', [url, '-qAtX', '-v', 'ON_ERROR_STOP=1', '-c', sql], { encoding: 'utf8' });
  const rows = (sql: string) => JSON.parse(psql(`SELECT coalesce(json_agg(t), '[]') FROM (${sql}) t`) || '[]') as Array<Record<string, unknown>>;
  const hideSeq = (r: Record<string, unknown>) => {
    delete r.seq;
    return r;
  };
  return {
    dialect: 'postgres',
    prepare: (sql) => ({
      get: (...p) => rows(inline(sql, p)).map(hideSeq)[0],
      all: (...p) => rows(inline(sql, p)).map(hideSeq),
      run: (...p) => psql(inline(sql, p)),
    }),
  };
}

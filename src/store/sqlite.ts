import Sqlite from 'better-sqlite3';
import { CompiledQuery, Kysely, SqliteDialect, SqliteDriver, sql, type DatabaseConnection, type SqliteDatabase, type SqliteDialectConfig, type SqliteStatement } from './kysely.js';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { LoraloopError } from '../core/errors.js';
import type { StoreBackend } from './backend.js';
import { sqliteMigrations } from './migrations/sqlite/index.js';
import type { Database } from './schema.js';

/**
 * The SQLite file under `home`, shared by every loraloop process on the host (an MCP server per client, the
 * Slack bot, the nightly run). WAL lets readers run beside the one writer; busy_timeout makes writers queue
 * instead of failing with SQLITE_BUSY while another process holds the write lock. Opened on the first query.
 */
export function createSqliteBackend(home: string): StoreBackend {
  let raw: Sqlite.Database | undefined;
  const open = async (): Promise<SqliteDatabase> => {
    try {
      mkdirSync(home, { recursive: true });
      raw = new Sqlite(join(home, 'loraloop.db'));
    } catch (e) {
      throw new LoraloopError('STORE_ERROR', `Cannot open the database in ${home}: ${(e as Error).message}.`, {
        hint: 'Check that LORALOOP_HOME points to a writable folder.',
        cause: e,
      });
    }
    raw.pragma('busy_timeout = 10000');
    await useWal(raw);
    raw.pragma('synchronous = NORMAL');
    raw.pragma('foreign_keys = ON');
    return withStatementCache(raw);
  };
  const db = new Kysely<Database>({ dialect: new ImmediateSqliteDialect({ database: open }) });
  return {
    db,
    migrations: sqliteMigrations,
    sql: {
      insertionOrder: (table) => sql<number>`${sql.table(table)}.rowid`,
      jsonArrayHasCaseless: (table, column, value) =>
        sql`EXISTS (SELECT 1 FROM json_each(${sql.ref(`${table}.${column}`)}) WHERE upper(json_each.value) = upper(${value}))`,
    },
    async applyMigration(_trx, m) {
      // A migration is several statements, which only exec() runs. The transaction holds the one connection,
      // so this runs inside it, after its BEGIN IMMEDIATE.
      if (!raw) throw new LoraloopError('INTERNAL', 'The database is not open.');
      raw.exec(m.sql);
    },
    transaction: (fn) => db.transaction().execute(fn),
    // Each migration's transaction starts with BEGIN IMMEDIATE, which is the lock.
    migrationLock: (fn) => fn(db),
    close: () => db.destroy(),
  };
}

/**
 * WAL is a property of the file, so after the first open there is nothing to change and no lock to take.
 * Converting a fresh file needs it to itself, and SQLite does not run the busy handler for that: processes
 * opening a fresh home at once (an MCP server per client, the Slack bot, the nightly run) would fail with
 * "database is locked". They retry here, for as long as busy_timeout would have waited.
 */
async function useWal(db: Sqlite.Database): Promise<void> {
  const until = Date.now() + 10_000;
  for (let pause = 5; ; pause = Math.min(pause * 2, 200)) {
    try {
      if (String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal') return;
      if (String(db.pragma('journal_mode = WAL', { simple: true })).toLowerCase() === 'wal') return;
    } catch (e) {
      if ((e as { code?: unknown }).code !== 'SQLITE_BUSY') throw e;
    }
    if (Date.now() > until) {
      throw new LoraloopError('STORE_ERROR', 'Cannot switch the database to WAL: another process has held it for 10 s.', {
        hint: 'Another program holds loraloop.db open in a transaction; close it and try again.',
      });
    }
    await new Promise((r) => setTimeout(r, pause));
  }
}

/**
 * Write transactions start with BEGIN IMMEDIATE, which takes the write lock at once (waiting up to busy_timeout
 * for it). A plain BEGIN reads first and upgrades later; two processes doing that at once deadlock, and SQLite
 * fails one of them with SQLITE_BUSY without waiting.
 */
class ImmediateSqliteDialect extends SqliteDialect {
  readonly #config: SqliteDialectConfig;
  constructor(config: SqliteDialectConfig) {
    super(config);
    this.#config = config;
  }
  override createDriver(): SqliteDriver {
    return new ImmediateSqliteDriver(this.#config);
  }
}

class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

/**
 * Kysely prepares every query it runs; better-sqlite3 statements are reusable, so the same SQL text reuses its
 * statement. Bounded, because `IN (?, ?, ...)` lists make a text per length.
 */
function withStatementCache(db: Sqlite.Database, max = 500): SqliteDatabase {
  const cache = new Map<string, SqliteStatement>();
  return {
    close: () => db.close(),
    prepare(text) {
      let stmt = cache.get(text);
      if (!stmt) {
        stmt = db.prepare(text) as unknown as SqliteStatement;
        if (cache.size >= max) cache.delete(cache.keys().next().value as string);
        cache.set(text, stmt);
      }
      return stmt;
    },
  };
}

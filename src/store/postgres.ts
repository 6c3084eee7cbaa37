import { Kysely, PostgresDialect, sql, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';
import pg from 'pg';
import { LoraloopError } from '../core/errors.js';
import type { StoreBackend } from './backend.js';
import { postgresMigrations } from './migrations/postgres/index.js';
import type { Database } from './schema.js';

// int8 (count(*), BIGINT columns) and numeric (avg) arrive as strings by default; every such value loraloop
// stores is far below 2^53, so numbers are what the repos expect, as they get them from SQLite.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));
pg.types.setTypeParser(pg.types.builtins.NUMERIC, (v) => Number(v));

/** Key of the session lock that lets one process at a time apply migrations. */
const MIGRATION_LOCK = 0x6c6f7261; // "lora"
/** SQLSTATEs after which a serializable transaction is simply run again. */
const RETRYABLE = new Set(['40001', '40P01']);
const MAX_ATTEMPTS = 8;

/**
 * PostgreSQL (LORALOOP_DATABASE_URL=postgres://...), shared by every loraloop process on every host. Write
 * transactions run SERIALIZABLE and are retried on a serialization failure, which gives the repos what SQLite's
 * single writer gives them: a read-modify-write inside `atomic` never loses a concurrent update.
 */
export function createPostgresBackend(url: string, poolSize = 10): StoreBackend {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  // An idle client that loses its server emits 'error' on the pool; without a listener that kills the process.
  pool.on('error', () => undefined);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }), plugins: [new HideSeqPlugin()] });
  return {
    db,
    migrations: postgresMigrations,
    sql: {
      insertionOrder: (table) => sql<number>`${sql.table(table)}.seq`,
      jsonArrayHasCaseless: (table, column, value) =>
        sql`EXISTS (SELECT 1 FROM json_array_elements_text(${sql.ref(`${table}.${column}`)}::json) AS e(v) WHERE upper(e.v) = upper(${value}))`,
    },
    async transaction(fn) {
      for (let attempt = 1; ; attempt++) {
        try {
          return await db.transaction().setIsolationLevel('serializable').execute(fn);
        } catch (e) {
          if (!RETRYABLE.has(sqlState(e)) || attempt >= MAX_ATTEMPTS) throw e;
          await new Promise((r) => setTimeout(r, Math.random() * 10 * 2 ** attempt));
        }
      }
    },
    async migrationLock(fn) {
      return db.connection().execute(async (conn) => {
        await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK})`.execute(conn);
        try {
          return await fn(conn);
        } finally {
          await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK})`.execute(conn);
        }
      });
    },
    async applyMigration(trx, m) {
      // Several statements in one simple-protocol query (no parameters), inside the migration's transaction.
      await sql.raw(m.sql).execute(trx);
    },
    close: () => db.destroy(),
    openError: (e) =>
      new LoraloopError('STORE_ERROR', `Cannot use the PostgreSQL database ${redactUrl(url)}: ${(e as Error).message}.`, {
        hint: 'Check LORALOOP_DATABASE_URL (host, port, user, password, database) and that the server is running and reachable.',
        cause: e,
      }),
  };
}

function sqlState(e: unknown): string {
  const code = typeof e === 'object' && e !== null ? (e as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : '';
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparseable URL)';
  }
}

/**
 * PostgreSQL tables carry a `seq` identity column standing in for SQLite's rowid (insertion order). It is for
 * ORDER BY only: dropping it from result rows keeps `selectAll()` rows identical on both databases.
 */
class HideSeqPlugin implements KyselyPlugin {
  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return args.node;
  }
  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    for (const row of args.result.rows) {
      if ('seq' in row) delete row.seq;
    }
    return args.result;
  }
}

import { execFileSync } from 'node:child_process';
import { TEMPLATE_DB } from './pg-global.js';

/** vitest's `inject`, inside a test worker only: the bench (plain node) uses makeTestApp too, without vitest. */
const inject = process.env.VITEST_WORKER_ID ? (await import('vitest')).inject : undefined;

let n = 0;
const byHome = new Map<string, string>();

/** Remember which database a test home's app uses, for storeFile (tests/support/sqlite.ts). */
export function registerHome(home: string, url: string | undefined): void {
  if (url) byHome.set(home, url);
}

/** The PostgreSQL database of a test home, in the parity run. */
export function databaseUrlFor(home: string): string | undefined {
  return byHome.get(home);
}

/**
 * In the PostgreSQL parity run, a fresh database (a copy of the migrated template) for one app or store, as
 * a fresh LORALOOP_HOME is for SQLite; undefined in the ordinary SQLite run. Synchronous (psql) so that the
 * synchronous test helpers can use it.
 */
export function testDatabaseUrl(): string | undefined {
  const base = inject?.('postgresUrl');
  if (!base) return undefined;
  const name = `t_${process.pid}_${++n}_${Date.now().toString(36)}`;
  execFileSync('psql', [base, '-qAtc', `CREATE DATABASE "${name}" TEMPLATE ${TEMPLATE_DB}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  return base.replace(/\/postgres$/, `/${name}`);
}

/** LORALOOP_DATABASE_URL for a test app or a child process, when the run is on PostgreSQL. */
export function testDatabaseEnv(): Record<string, string> {
  const url = testDatabaseUrl();
  return url ? { LORALOOP_DATABASE_URL: url } : {};
}

/** LORALOOP_DATABASE_URL of a test home's app, for a child process that must share its store. */
export function databaseEnvFor(home: string): Record<string, string> {
  const url = databaseUrlFor(home);
  return url ? { LORALOOP_DATABASE_URL: url } : {};
}

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { createStore } from '../../src/store/index.js';
import { startPostgres, type RunningPostgres } from './postgres.js';

/** The template database every test database is copied from: migrated once, so each test starts in ~50 ms. */
export const TEMPLATE_DB = 'loraloop_template';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set when the suite runs against PostgreSQL (LORALOOP_TEST_DATABASE=postgres): the server's `postgres` database. */
    postgresUrl: string;
  }
}

let server: RunningPostgres | undefined;

/**
 * Global setup of the parity run: with LORALOOP_TEST_DATABASE=postgres, one real PostgreSQL server for the whole
 * run and a migrated template database; every app a test makes gets a fresh copy (tests/support/database.ts).
 */
export async function setup(project: TestProject): Promise<void> {
  if (process.env.LORALOOP_TEST_DATABASE !== 'postgres') {
    project.provide('postgresUrl', '');
    return;
  }
  server = await startPostgres();
  const url = await server.database(TEMPLATE_DB);
  const home = mkdtempSync(join(tmpdir(), 'loraloop-pg-template-'));
  const store = createStore(home, undefined, { databaseUrl: url });
  await store.kv.get('migrated'); // applies every migration
  await store.close();
  rmSync(home, { recursive: true, force: true });
  project.provide('postgresUrl', server.url);
  process.stderr.write(`parity run: every test app on its own copy of ${TEMPLATE_DB} at ${server.url}\n`);
}

export async function teardown(): Promise<void> {
  await server?.stop();
}

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createStore } from '../../src/store/index.js';
import { databaseUrlFor, registerHome, testDatabaseUrl } from '../support/database.js';
import { storeFile } from '../support/sqlite.js';

const child = join(import.meta.dirname, 'writer-child.ts');
const tsx = ['--import', 'tsx'];

function run(home: string, n: number, tag: string, env: Record<string, string> = {}) {
  const db = databaseUrlFor(home);
  return spawn(process.execPath, [...tsx, child, home, String(n), tag], {
    env: { ...process.env, ...(db ? { LORALOOP_DATABASE_URL: db } : {}), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** A fresh home, and in the parity run a fresh PostgreSQL database for it. */
function newHome(): string {
  const h = mkdtempSync(join(tmpdir(), 'loraloop-mp-'));
  registerHome(h, testDatabaseUrl());
  return h;
}
const open = (h: string) => createStore(h, undefined, { databaseUrl: databaseUrlFor(h) });

let home = '';
afterEach(() => rmSync(home, { recursive: true, force: true }));

describe('store shared by several processes', () => {
  it('4 processes writing 500 records each leave exactly 2,000 records and no error', async () => {
    home = newHome();
    const procs = [0, 1, 2, 3].map((i) => run(home, 500, `p${i}`));
    const results = await Promise.all(
      procs.map(
        (p) =>
          new Promise<{ code: number | null; err: string }>((resolve) => {
            let err = '';
            p.stderr.on('data', (d: Buffer) => (err += d.toString()));
            p.on('exit', (code) => resolve({ code, err }));
          }),
      ),
    );
    for (const r of results) expect(r, r.err).toMatchObject({ code: 0 });
    const store = open(home);
    try {
      expect(await store.covers.count()).toBe(2000);
      const titles = storeFile(home).prepare('SELECT COUNT(DISTINCT title) AS n FROM covers').get() as { n: number };
      expect(titles.n).toBe(2000);
    } finally {
      await store.close();
    }
  }, 120_000);

  // SQLite only: PostgreSQL has no journal mode.
  it.skipIf(process.env.LORALOOP_TEST_DATABASE === 'postgres')('opening a fresh home while another process writes to it waits for the switch to WAL instead of failing', async () => {
    home = mkdtempSync(join(tmpdir(), 'loraloop-wal-'));
    const file = join(home, 'loraloop.db');
    // Another process created the file first, in SQLite's default rollback mode, and is in a write transaction.
    // Switching to WAL needs the file to itself, and SQLite answers "database is locked" at once for that,
    // without waiting for the busy timeout.
    const holder = spawn(
      process.execPath,
      ['-e', `const D = require('better-sqlite3'); const d = new D(process.argv[1]); d.exec('CREATE TABLE other_tool (a); BEGIN IMMEDIATE; INSERT INTO other_tool VALUES (1);'); console.log('holding'); setTimeout(() => { d.exec('COMMIT'); d.close(); }, 800);`, file],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = new Promise((r) => holder.on('exit', r));
    await new Promise((r) => holder.stdout.once('data', r));
    const store = open(home);
    try {
      expect(await store.covers.count()).toBe(0);
    } finally {
      await store.close();
      await exited;
    }
    const check = storeFile(home);
    expect(check.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
    expect(check.prepare('SELECT COUNT(*) AS n FROM other_tool').get()).toEqual({ n: 1 });
  });

  it('a process killed in the middle of writing leaves no half-written blob and no record without its blob', async () => {
    home = newHome();
    const p = run(home, 0, 'k', { SLOW_BLOB: '1' });
    await new Promise<void>((resolve) => p.stdout.once('data', () => resolve()));
    await new Promise((r) => setTimeout(r, 400 + Math.random() * 300));
    p.kill('SIGKILL');
    await new Promise((r) => p.on('exit', r));
    const store = open(home);
    try {
      const rows = storeFile(home).prepare('SELECT blob_sha256, blob_path FROM covers').all() as Array<{ blob_sha256: string; blob_path: string }>;
      expect(rows.length).toBeGreaterThan(0);
      for (const r of rows) {
        expect(existsSync(r.blob_path)).toBe(true);
        expect(createHash('sha256').update(readFileSync(r.blob_path)).digest('hex')).toBe(r.blob_sha256);
      }
      // Every blob at its final path is whole: its name is the hash of its bytes.
      const blobsRoot = join(home, 'blobs');
      for (const dir of readdirSync(blobsRoot).filter((d) => d !== 'tmp')) {
        for (const f of readdirSync(join(blobsRoot, dir))) {
          const sha = f.split('.')[0]!;
          expect(createHash('sha256').update(readFileSync(join(blobsRoot, dir, f))).digest('hex')).toBe(sha);
        }
      }
      // Leftover temp files are swept.
      expect(await store.blobs.sweepTemp(0)).toBeGreaterThanOrEqual(0);
      expect(readdirSync(join(blobsRoot, 'tmp'))).toHaveLength(0);
    } finally {
      await store.close();
    }
  }, 60_000);
});

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterEach, describe, expect, it } from 'vitest';
import { isLoraloopError } from '../../src/core/errors.js';
import { createStore, type Store } from '../../src/store/index.js';
import { makeTestApp } from '../support/app.js';
import { errorOf } from '../support/result.js';
import { databaseUrlFor, registerHome, testDatabaseUrl } from '../support/database.js';
import { storeFile } from '../support/sqlite.js';


const CHILD = join(import.meta.dirname, 'race-child.ts');

let home = '';
let store: Store | undefined;
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await store?.close();
  store = undefined;
  rmSync(home, { recursive: true, force: true });
});

function openStore(): Store {
  home = mkdtempSync(join(tmpdir(), 'loraloop-store-'));
  registerHome(home, testDatabaseUrl());
  store = createStore(home, undefined, { databaseUrl: databaseUrlFor(home) });
  return store;
}

const newLora = (s: Store, name = 'sol-style') => s.loras.create({ name, base_model: 'flux', asset_type: 'coin', trigger_word: 'sks', coins: ['SOL'] });

/** Children with their own store on `home`; `answers()` collects one JSON line from each. */
async function spawnChildren(n: number) {
  const lines = new Map<ChildProcessWithoutNullStreams, AsyncIterator<string>>();
  for (let i = 0; i < n; i++) {
    const db = databaseUrlFor(home);
    const c = spawn(process.execPath, ['--import', 'tsx', CHILD, home], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...(db ? { LORALOOP_DATABASE_URL: db } : {}) } });
    let err = '';
    c.stderr.on('data', (d: Buffer) => (err += d.toString()));
    c.on('exit', (code) => {
      if (code) console.error(`race child exited ${code}: ${err}`);
    });
    children.push(c);
    lines.set(c, createInterface({ input: c.stdout })[Symbol.asyncIterator]());
  }
  const next = async (c: ChildProcessWithoutNullStreams): Promise<string> => {
    const r = await lines.get(c)!.next();
    if (r.done) throw new Error('a race child ended early');
    return r.value;
  };
  await Promise.all(children.map(async (c) => expect(await next(c)).toBe('ready')));
  return {
    /** Send the same command to every child in one tick, then read every answer. */
    async all<T>(command: string): Promise<T[]> {
      for (const c of children) c.stdin.write(`${command}\n`);
      return Promise.all(children.map(async (c) => JSON.parse(await next(c)) as T));
    },
  };
}

describe('store.transaction', () => {
  it('commits every write through tx together', async () => {
    const s = openStore();
    const lora = await newLora(s);
    const job = await s.transaction(async (tx) => {
      await tx.loras.update(lora.id, { status: 'training' });
      return tx.jobs.create({ kind: 'lora_training', status: 'queued', subject_id: lora.id, state: { n: 1 } });
    });
    expect((await s.loras.get(lora.id))?.status).toBe('training');
    expect(await s.jobs.get(job.id)).toMatchObject({ status: 'queued', subject_id: lora.id, state: { n: 1 } });
  });

  it('rolls back both writes when the callback throws after them', async () => {
    const s = openStore();
    const lora = await newLora(s);
    let jobId = '';
    await expect(
      s.transaction(async (tx) => {
        await tx.loras.update(lora.id, { status: 'training' });
        jobId = (await tx.jobs.create({ kind: 'lora_training', status: 'queued', subject_id: lora.id })).id;
        throw new Error('the backend refused the job');
      }),
    ).rejects.toThrow('the backend refused the job');
    expect(jobId).not.toBe('');
    expect((await s.loras.get(lora.id))?.status).toBe('created');
    expect(await s.jobs.get(jobId)).toBeUndefined();
    expect(await s.jobs.list({ subject_id: lora.id })).toEqual([]);
  });

  it('rolls back the first write when the second one fails in the database', async () => {
    const s = openStore();
    const lora = await newLora(s);
    const taken = await s.jobs.create({ kind: 'lora_training', status: 'queued' });
    await expect(
      s.transaction(async (tx) => {
        await tx.loras.update(lora.id, { status: 'training' });
        await tx.jobs.create({ id: taken.id, kind: 'lora_training', status: 'queued' }); // primary key taken
      }),
    ).rejects.toThrow(/UNIQUE|duplicate key/); // SQLite's words, PostgreSQL's words
    expect((await s.loras.get(lora.id))?.status).toBe('created');
    // The store is usable after the rollback.
    expect((await s.loras.update(lora.id, { status: 'ready' })).status).toBe('ready');
  });
});

describe('several processes on one store', () => {
  it('of processes claiming the same job and lease at the same moment, exactly one wins each', async () => {
    const s = openStore();
    const race = await spawnChildren(4);
    for (let round = 0; round < 5; round++) {
      const job = await s.jobs.create({ kind: 'lora_training', status: 'queued' });
      const answers = await race.all<{ owner: string; job: boolean; lease: boolean }>(`claim ${job.id}`);
      expect(answers.filter((a) => a.job)).toHaveLength(1);
      expect(answers.filter((a) => a.lease)).toHaveLength(1);
      const winner = answers.find((a) => a.job)!.owner;
      expect((await s.jobs.get(job.id))?.owner).toBe(winner);
      expect((await s.leases.holder(`lease-${job.id}`))?.owner).toBe(answers.find((a) => a.lease)!.owner);
    }
  }, 60_000);

  it('processes adding versions at once never make the same version twice, and none fails on the lock', async () => {
    const s = openStore();
    const lora = await newLora(s);
    const race = await spawnChildren(3);
    const answers = await race.all<{ owner: string; made: number[] }>(`versions ${lora.id} 15`);
    const made = answers.flatMap((a) => a.made).sort((a, b) => a - b);
    expect(made).toEqual(Array.from({ length: 45 }, (_, i) => i + 1));
    expect((await s.loras.listVersions(lora.id)).map((v) => v.version)).toEqual(made);
  }, 60_000);
});

describe('a corrupt JSON column', () => {
  it('is a STORE_ERROR naming the table, column and row, not a crash elsewhere', async () => {
    const s = openStore();
    const job = await s.jobs.create({ kind: 'lora_training', status: 'queued', state: { phase: 'queued' } });
    storeFile(home).prepare('UPDATE jobs SET state = ? WHERE id = ?').run('{"phase": "queu', job.id);
    const err: unknown = await s.jobs.get(job.id).catch((e: unknown) => e);
    expect(isLoraloopError(err) && err.code).toBe('STORE_ERROR');
    expect((err as Error).message).toContain(`jobs.state of ${job.id} is corrupt: not JSON`);
    // Valid JSON of the wrong shape is refused the same way.
    storeFile(home).prepare('UPDATE jobs SET state = ? WHERE id = ?').run('["queued"]', job.id);
    await expect(s.jobs.list()).rejects.toMatchObject({ code: 'STORE_ERROR', details: { table: 'jobs', column: 'state', row: job.id } });
  });

  it('reaches a tool caller as a failed result with code STORE_ERROR', async () => {
    const t = makeTestApp();
    try {
      const created = await t.app.tools.execute('lora_create', { name: 'eth-style', base_model: 'flux', asset_type: 'coin', trigger_word: 'ethx', coins: ['ETH'] }, t.app.context());
      expect(created.success).toBe(true);
      storeFile(t.home).prepare("UPDATE loras SET coins = '{\"ETH\": true}' WHERE name = 'eth-style'").run();
      const listed = await t.app.tools.execute('lora_list', {}, t.app.context());
      expect(listed.success).toBe(false);
      expect(errorOf(listed)).toMatchObject({ code: 'STORE_ERROR', category: 'system' });
      expect(listed.reasoning).toMatch(/loras\.coins of lora_[\w-]+ is corrupt/);
    } finally {
      await t.dispose();
    }
  });
});

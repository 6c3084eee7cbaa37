import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { parseBlobLocation } from '../../src/core/blob-location.js';
import { createStore, type Store } from '../../src/store/index.js';
import { startPostgres, type RunningPostgres } from './postgres.js';
import { startS3, type RunningS3 } from './object-stores.js';

/**
 * A cluster as the tests run it: one real PostgreSQL (store and queue), one S3 bucket (s3rver) for blobs, and
 * loraloop processes started from the built program, each with its own LORALOOP_HOME as if on its own host.
 */
export interface TestCluster {
  databaseUrl: string;
  /** The variables every host of the cluster shares. */
  env: Record<string, string>;
  /** A fresh home folder (another host). */
  home(name: string): string;
  /** `loraloop mcp` (stdio) on `home` with only the cluster's variables (no GPU, no Replicate), through the SDK's Client. */
  mcpClient(home: string, name: string): Promise<Client>;
  /** A store on a fresh home of its own (a host that made nothing), on the cluster's database and bucket. */
  freshStore(name: string): Store;
  /** Start `loraloop <args>` as a host with its own home; its stderr is kept. */
  spawn(name: string, args: string[], env?: Record<string, string>): ClusterProcess;
  stop(): Promise<void>;
}

export interface ClusterProcess {
  child: ChildProcess;
  home: string;
  stderr(): string;
  /** Resolves when it exited (code or signal). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const bin = resolve('dist/src/main.js');

export async function startCluster(): Promise<TestCluster> {
  const pg: RunningPostgres = await startPostgres();
  const databaseUrl = await pg.database('cluster');
  const s3: RunningS3 = await startS3(['cluster']);
  const root = mkdtempSync(join(tmpdir(), 'loraloop-cluster-'));
  const children: ClusterProcess[] = [];
  const env = { ...s3.env, LORALOOP_DATABASE_URL: databaseUrl, LORALOOP_QUEUE: 'pg-boss', LORALOOP_BLOBS: 's3://cluster/blobs', LORALOOP_LOG_LEVEL: 'info' };
  const home = (name: string) => mkdtempSync(join(root, `${name}-`));
  return {
    databaseUrl,
    env,
    home,
    async mcpClient(h, name) {
      const transport = new StdioClientTransport({
        command: process.execPath,
        args: [bin, 'mcp'],
        env: { PATH: process.env.PATH ?? '', HOME: h, ...env, LORALOOP_HOME: h, LORALOOP_ALLOWED_ROOTS: h },
        stderr: 'pipe',
      });
      const client = new Client({ name, version: '1' });
      await client.connect(transport);
      return client;
    },
    freshStore: (name) => createStore(home(name), undefined, { databaseUrl, blobs: parseBlobLocation(env.LORALOOP_BLOBS), objectStoreEnv: env }),
    spawn(name, args, extra = {}) {
      const h = home(name);
      const child = spawn(process.execPath, [bin, ...args], {
        env: { PATH: process.env.PATH ?? '', HOME: h, ...env, LORALOOP_HOME: h, LORALOOP_ALLOWED_ROOTS: h, ...extra },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let err = '';
      child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
      child.stdout?.resume();
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
      const p: ClusterProcess = { child, home: h, stderr: () => err, exited };
      children.push(p);
      return p;
    },
    async stop() {
      for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGTERM');
      await Promise.race([Promise.all(children.map((c) => c.exited)), new Promise((r) => setTimeout(r, 8000))]);
      for (const c of children) if (c.child.exitCode === null && c.child.signalCode === null) c.child.kill('SIGKILL');
      await s3.stop();
      await pg.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

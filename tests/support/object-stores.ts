import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

/**
 * Real S3 and Azure Blob Storage emulators for the tests: s3rver in-process, Azurite's blob service as a
 * child process (its own CLI, the way people run it). Both listen on a free loopback port in a temp folder.
 */
export interface RunningS3 {
  endpoint: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startS3(buckets: string[]): Promise<RunningS3> {
  const dir = mkdtempSync(join(tmpdir(), 'loraloop-s3-'));
  const server = new S3rver({ port: 0, address: '127.0.0.1', directory: dir, silent: true, configureBuckets: buckets.map((name) => ({ name, configs: [] })) });
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  return {
    endpoint,
    // s3rver accepts its own fixed key pair; the SDK reads these like any AWS credentials.
    env: { AWS_ENDPOINT_URL: endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' },
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Azurite's well-known development account (published in Azurite's README; not a secret). */
const devAccount = 'devstoreaccount1';
const devKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface RunningAzurite {
  env: Record<string, string>;
  stop(): Promise<void>;
}

export async function startAzurite(): Promise<RunningAzurite> {
  const dir = mkdtempSync(join(tmpdir(), 'loraloop-azurite-'));
  const bin = join(import.meta.dirname, '../../node_modules/.bin/azurite-blob');
  const child: ChildProcess = spawn(bin, ['--blobHost', '127.0.0.1', '--blobPort', '0', '--location', dir, '--silent', '--loose', '--skipApiVersionCheck'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`Azurite did not start: ${out}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listens on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    child.once('exit', (code) => reject(new Error(`Azurite exited (${code}): ${out}`)));
  });
  return {
    env: {
      AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=${devAccount};AccountKey=${devKey};BlobEndpoint=http://127.0.0.1:${port}/${devAccount};`,
    },
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      // Its graceful close takes ~10 s; the data is a temp folder thrown away anyway.
      child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allTools } from '../../src/all-tools.js';
import { createApp, type App } from '../../src/app.js';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { serveHttp, type HttpFace } from '../../src/faces/mcp/http.js';
import { createBlobStore } from '../../src/store/blobs.js';
import { createStore, type Store } from '../../src/store/index.js';
import { blobStoreFor } from '../../src/store/objects/index.js';
import { makeTestApp } from '../support/app.js';
import { databaseEnvFor } from '../support/database.js';
import { startS3, type RunningS3 } from '../support/object-stores.js';
import { dataOf } from '../support/result.js';
import { buildKohyaSd15Lora } from '../support/safetensors.js';

/**
 * Two hosts, as a deployment with workers has them: host A and host B each have their own LORALOOP_HOME, and
 * share one database and one S3 bucket (s3rver). What A stores, B reads through the paths a user has (a
 * download link, a loraloop:// resource, a tool given a cover id), byte for byte, from an empty home.
 */
const TOKEN = 'shared-token-of-both-hosts';
const PHOTO = resolve('../shared/fixtures/images/320x240.jpg');

let s3: RunningS3;
let a: ReturnType<typeof makeTestApp>;
let b: { app: App; home: string; dispose: () => Promise<void> };
let faceA: HttpFace;
let faceB: HttpFace;
let files: string;
let env: Record<string, string>;

/**
 * Host B: a fresh home with the same LORALOOP_BLOBS and host A's database. On PostgreSQL that is A's URL, as in
 * production. A SQLite database is a file inside one home, so B opens A's file and keeps its own blob cache
 * under its own home: the same sharing, since the store is exactly its database plus its blob store.
 */
function hostBeside(homeA: string, env: Record<string, string>): typeof b {
  const home = mkdtempSync(join(tmpdir(), 'loraloop-host-b-'));
  const config = loadConfig({ LORALOOP_HOME: home, LORALOOP_ALLOWED_ROOTS: `${home}:${tmpdir()}`, ...env, ...databaseEnvFor(homeA) }, home);
  let store: Store | undefined;
  if (!config.databaseUrl) store = { ...createStore(homeA), blobs: blobStoreFor(config.blobs, createBlobStore(home), config.objectStoreEnv) };
  const app = createApp(config, allTools(), { logger: createLogger({ level: 'silent' }), ...(store ? { store } : {}) });
  return {
    app,
    home,
    dispose: async () => {
      await app.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

beforeAll(async () => {
  s3 = await startS3(['loraloop-shared']);
  env = { LORALOOP_BLOBS: 's3://loraloop-shared/desk', LORALOOP_HTTP_TOKEN: TOKEN, ...s3.env };
  a = makeTestApp(env);
  b = hostBeside(a.home, env);
  faceA = await serveHttp(a.app, { port: 0, host: '127.0.0.1', token: TOKEN, insecureLocal: false });
  faceB = await serveHttp(b.app, { port: 0, host: '127.0.0.1', token: TOKEN, insecureLocal: false });
  files = mkdtempSync(join(tmpdir(), 'loraloop-user-files-'));
}, 60_000);
afterAll(async () => {
  await faceB?.close();
  await faceA?.close();
  await b?.dispose();
  await a?.dispose();
  await s3?.stop();
  if (files) rmSync(files, { recursive: true, force: true });
});

async function connect(face: HttpFace): Promise<Client> {
  const client = new Client({ name: 'two-hosts', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(face.url), { requestInit: { headers: { authorization: `Bearer ${TOKEN}` } } }));
  return client;
}

interface Published {
  uri: string;
  url: string;
}

/** A tool call on host A over MCP: its data and the files it published. */
async function callOnA(name: string, args: Record<string, unknown>): Promise<{ data: Record<string, unknown>; resources: Published[] }> {
  const client = await connect(faceA);
  try {
    const r = await client.callTool({ name, arguments: args });
    expect(r.isError, JSON.stringify(r.content)).toBeFalsy();
    const { resources, ...data } = r.structuredContent as { resources: Published[] };
    return { data, resources };
  } finally {
    await client.close();
  }
}

/** The same signed link, as a load balancer would send it to host B. */
async function downloadFromB(link: string): Promise<Response> {
  const url = new URL(link);
  const there = new URL(faceB.baseUrl);
  url.host = there.host;
  return fetch(url);
}

/**
 * Host A's disk is not host B's: both run in this process, so what A wrote into its own folder is taken out of
 * B's reach (A's folder is a cache; the bucket holds every blob). Reading a row's recorded path fails after this.
 */
const leaveHostA = () => rmSync(join(a.home, 'blobs'), { recursive: true, force: true });

const sameBytes = (got: Buffer, want: Buffer) => {
  expect(got.length).toBe(want.length);
  expect(got.equals(want)).toBe(true);
};

describe('a blob stored on host A is read on host B (another LORALOOP_HOME, same database and bucket)', () => {
  it('a cover made on A downloads, reads as a resource and is critiqued on B, byte for byte', async () => {
    const { data, resources } = await callOnA('cover_generate', { title: 'Solana ETF inflows hit $1B', seed: 3 });
    const path = data.path as string;
    // The row records A's file, which B does not have; B's home holds no blob yet.
    expect(path.startsWith(a.home)).toBe(true);
    expect(existsSync(join(b.home, 'blobs'))).toBe(false);
    const original = readFileSync(path);
    leaveHostA();

    const dl = await downloadFromB(resources[0]!.url);
    expect(dl.status).toBe(200);
    expect(dl.headers.get('content-type')).toBe('image/png');
    sameBytes(Buffer.from(await dl.arrayBuffer()), original);

    const client = await connect(faceB);
    try {
      const read = await client.readResource({ uri: resources[0]!.uri });
      sameBytes(Buffer.from((read.contents[0] as { blob: string }).blob, 'base64'), original);
    } finally {
      await client.close();
    }

    const critique = await b.app.tools.execute('cover_critique', { cover_id: data.cover_id, vision: 'off' }, b.app.context());
    expect(dataOf<{ cover_id: string; score: number }>(critique)).toMatchObject({ cover_id: data.cover_id, score: expect.any(Number) });
  }, 60_000);

  it('a LoRA file imported on A downloads from B as the very file', async () => {
    const weights = buildKohyaSd15Lora({ sample: true, rank: 4, alpha: 2 });
    writeFileSync(join(files, 'zxq.safetensors'), weights);
    const { resources } = await callOnA('lora_import', { path: join(files, 'zxq.safetensors'), name: 'zxq-style' });
    leaveHostA();
    const dl = await downloadFromB(resources[0]!.url);
    expect(dl.status).toBe(200);
    sameBytes(Buffer.from(await dl.arrayBuffer()), weights);
  }, 60_000);

  it('a LoRA version imported on A and deleted on B is gone from the bucket, so no host serves it again', async () => {
    const weights = buildKohyaSd15Lora({ sample: true, rank: 4, alpha: 3 });
    writeFileSync(join(files, 'gone.safetensors'), weights);
    const { data } = await callOnA('lora_import', { path: join(files, 'gone.safetensors'), name: 'gone-style' });
    const sha = createHash('sha256').update(weights).digest('hex');
    const loraId = data.lora_id as string;
    const del = dataOf<{ deleted_versions: number[]; files_removed: string[] }>(
      await b.app.tools.execute('lora_delete', { lora_id: loraId, force: true }, b.app.context()),
    );
    expect(del.deleted_versions).toEqual([1]);
    expect(del.files_removed).toHaveLength(1);
    // A third home, same bucket: nothing to fetch.
    const fresh = hostBeside(a.home, env);
    try {
      expect(await fresh.app.services.store.blobs.has(sha, 'safetensors')).toBe(false);
    } finally {
      await fresh.dispose();
    }
  }, 60_000);

  it("B's covers use the logo registered on A, and B's training export holds the images A took in", async () => {
    writeFileSync(join(files, 'hype.svg'), '<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64"><rect width="64" height="64" fill="#00ff88"/></svg>');
    await callOnA('logo_register', { symbol: 'HYPE', path: join(files, 'hype.svg') });
    leaveHostA();
    const cover = await b.app.tools.execute('cover_generate', { title: 'Hyperliquid (HYPE) volume hits a record', seed: 1 }, b.app.context());
    expect(dataOf<{ logo: { source: string } }>(cover).logo.source).toBe('user');

    copyFileSync(PHOTO, join(files, 'photo.jpg'));
    const { data } = await callOnA('lora_upload_images', { lora_id: 'zxq-style', images: [{ path: join(files, 'photo.jpg'), caption: 'zxq style, a small test photograph' }] });
    expect(data.added).toBe(1);
    const lora = await a.app.services.store.loras.find('zxq-style');
    const [image] = await a.app.services.store.loras.listImages(lora!.id);
    const stored = readFileSync(image!.blob_path);
    leaveHostA();

    const out = join(files, 'bundle');
    mkdirSync(out);
    const exported = await b.app.tools.execute('dataset_export', { lora_id: 'zxq-style', target: 'kohya', out }, b.app.context());
    const bundle = dataOf<{ path: string; images: number }>(exported);
    expect(bundle.images).toBe(1);
    const subsets = readdirSync(bundle.path, { withFileTypes: true }).filter((d) => d.isDirectory());
    const pictures = subsets.flatMap((d) => readdirSync(join(bundle.path, d.name)).filter((f) => !f.endsWith('.txt')).map((f) => join(bundle.path, d.name, f)));
    expect(pictures).toHaveLength(1);
    sameBytes(readFileSync(pictures[0]!), stored);
  }, 60_000);
});

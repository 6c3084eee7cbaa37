/**
 * The Replicate emulator, driven through the official `replicate` client as our factory builds it
 * (retrying fetch underneath). Nothing of ours is mocked.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { zipSync } from 'fflate';
import type Replicate from 'replicate';
import sharp from 'sharp';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LoraloopError } from '../../src/core/errors.js';
import { verifyWebhook } from '../../src/core/webhook.js';
import {
  createReplicateClient,
  isTerminal,
  parseTrainingProgress,
  replicateFileSchema,
  replicateTrainingSchema,
  type ReplicateClientOptions,
  type ReplicateTraining,
  type TrainingProgress,
} from '../../src/clients/replicate.js';
import {
  FLUX_TRAINER_NAME,
  FLUX_TRAINER_OWNER,
  FLUX_TRAINER_VERSION,
  startReplicateEmulator,
  type ReplicateEmulator,
  type ReplicateEmulatorOptions,
} from './replicate.js';

const running: ReplicateEmulator[] = [];
async function emulator(opts: ReplicateEmulatorOptions = {}): Promise<ReplicateEmulator> {
  const emu = await startReplicateEmulator(opts);
  running.push(emu);
  return emu;
}
afterEach(async () => {
  await Promise.all(running.splice(0).map((e) => e.close()));
});

function clientFor(emu: ReplicateEmulator, retry: ReplicateClientOptions['retry'] = {}, now?: () => number): Replicate {
  return createReplicateClient({ baseUrl: emu.url, apiKey: emu.token, retry: { baseDelayMs: 20, ...retry }, ...(now ? { now } : {}) });
}

let datasetZip: Buffer;
beforeAll(async () => {
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#f7931a' } }).png().toBuffer();
  const files: Record<string, Uint8Array> = {};
  for (let i = 0; i < 3; i++) {
    files[`img${i}.png`] = new Uint8Array(png);
    files[`img${i}.txt`] = new TextEncoder().encode(`a TOK coin logo, variant ${i}`);
  }
  files['__MACOSX/._img0.png'] = new Uint8Array([0]);
  datasetZip = Buffer.from(zipSync(files));
});

async function uploadDataset(client: Replicate): Promise<string> {
  const file = replicateFileSchema.parse(await client.files.create(new File([new Uint8Array(datasetZip)], 'dataset.zip', { type: 'application/zip' }), { purpose: 'training' }));
  return file.urls.get;
}

function startTraining(client: Replicate, emu: ReplicateEmulator, input: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return client.trainings.create(FLUX_TRAINER_OWNER, FLUX_TRAINER_NAME, FLUX_TRAINER_VERSION, {
    destination: `${emu.account}/brand-loras`,
    input,
    ...extra,
  });
}

/** Poll like a training backend would, parsing every answer. */
async function follow(client: Replicate, id: string): Promise<ReplicateTraining[]> {
  const seen: ReplicateTraining[] = [];
  for (let i = 0; i < 40; i++) {
    const t = replicateTrainingSchema.parse(await client.trainings.get(id));
    seen.push(t);
    if (isTerminal(t.status)) return seen;
  }
  throw new Error(`training ${id} never ended`);
}

/** Entries of a ustar archive. */
function untar(buf: Buffer): Map<string, Buffer | null> {
  const out = new Map<string, Buffer | null>();
  for (let off = 0; off + 512 <= buf.length; ) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const name = h.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
    const size = parseInt(h.subarray(124, 136).toString('ascii').replace(/\0.*$/s, '').trim() || '0', 8);
    const type = String.fromCharCode(h[156] ?? 0);
    off += 512;
    out.set(name, type === '5' ? null : buf.subarray(off, off + size));
    off += Math.ceil(size / 512) * 512;
  }
  return out;
}

describe('auth and configuration', () => {
  it('a client without a key starts fine and fails on first use with NOT_CONFIGURED, sending nothing', async () => {
    const emu = await emulator();
    const client = createReplicateClient({ baseUrl: emu.url });
    const e = await client.trainings.list().catch((err: unknown) => err);
    expect(e).toBeInstanceOf(LoraloopError);
    expect((e as LoraloopError).code).toBe('NOT_CONFIGURED');
    expect((e as LoraloopError).message).toBe('REPLICATE_API_TOKEN is not set');
    expect(emu.state.requests).toHaveLength(0);
  });

  it('a wrong token gets 401 problem+json, once', async () => {
    const emu = await emulator();
    const client = createReplicateClient({ baseUrl: emu.url, apiKey: 'r8_wrong' });
    const e = (await client.trainings.list().catch((err: unknown) => err)) as Error & { response?: Response };
    expect(e.response?.status).toBe(401);
    expect(e.response?.headers.get('content-type')).toBe('application/problem+json');
    expect(e.message).toContain('You did not pass a valid authentication token');
    expect(emu.state.requests).toHaveLength(1);
  });
});

describe('files API', () => {
  it('uploads, reads, lists and deletes a file; 404 after delete', async () => {
    const emu = await emulator();
    const client = clientFor(emu);
    const created = replicateFileSchema.parse(await client.files.create(datasetZip, { purpose: 'training' }));
    expect(created.size).toBe(datasetZip.length);
    expect(created.metadata).toEqual({ purpose: 'training' });
    expect(created.urls.get).toBe(`${emu.url}/files/${created.id}`);
    expect(emu.state.files[0]?.bytes.equals(datasetZip)).toBe(true);

    expect(replicateFileSchema.parse(await client.files.get(created.id)).checksums?.sha256).toMatch(/^[0-9a-f]{64}$/);
    const list = (await client.files.list()) as { results: Array<{ id: string }> };
    expect(list.results.map((f) => f.id)).toEqual([created.id]);
    expect(await client.files.delete(created.id)).toBe(true);
    const e = (await client.files.get(created.id).catch((err: unknown) => err)) as Error & { response?: Response };
    expect(e.response?.status).toBe(404);
  });

  it('refuses a file over the size cap with 413', async () => {
    const emu = await emulator({ maxFileBytes: 1024 });
    const client = clientFor(emu);
    const e = (await client.files.create(Buffer.alloc(4096, 1)).catch((err: unknown) => err)) as Error & { response?: Response };
    expect(e.response?.status).toBe(413);
    expect(e.message).toContain('Files must be less than');
    expect(emu.state.files).toHaveLength(0);
  });
});

describe('trainings', () => {
  it('creates a training and follows it to success, with progress parsed from the logs', async () => {
    const emu = await emulator();
    const client = clientFor(emu);
    const images = await uploadDataset(client);
    const created = replicateTrainingSchema.parse(await startTraining(client, emu, { input_images: images, trigger_word: 'TOK', steps: 800, lora_rank: 8 }));
    expect(created.status).toBe('starting');
    expect(emu.state.requests.at(-1)).toMatchObject({ method: 'POST', path: `/v1/models/${FLUX_TRAINER_OWNER}/${FLUX_TRAINER_NAME}/versions/${FLUX_TRAINER_VERSION}/trainings`, status: 201 });

    const seen = await follow(client, created.id);
    const progress = seen.map((t) => parseTrainingProgress(t.logs ?? '')).filter((p): p is TrainingProgress => p !== null);
    expect(progress.map((p) => p.step)).toEqual([0, 200, 400, 600, 800, 800]);
    expect(progress.every((p) => p.total === 800)).toBe(true);
    const last = progress.at(-1);
    expect(last?.progress).toBe(1);
    expect(last?.lr).toBe(4e-4);
    expect(last?.loss).toBeGreaterThan(0);
    // The preprocessing bar ("Caching latents ... 3/3") is never taken for training progress.
    expect(seen[0]?.status).toBe('processing');
    expect(parseTrainingProgress(seen[0]?.logs ?? '')?.step).toBe(0);

    const done = seen.at(-1);
    expect(done?.status).toBe('succeeded');
    expect(done?.metrics?.predict_time).toBeGreaterThanOrEqual(0);
    const versionRef = done?.output?.version ?? '';
    expect(versionRef).toMatch(new RegExp(`^${emu.account}/brand-loras:[0-9a-f]{64}$`));
    // The new version was added to the destination model.
    const versions = (await client.models.versions.list(emu.account, 'brand-loras')) as unknown as { results: Array<{ id: string }> };
    expect(versions.results.map((v) => v.id)).toEqual([versionRef.split(':')[1]]);

    // The weights are a real tar with the LoRA where ai-toolkit puts it.
    const res = await fetch(done?.output?.weights ?? '');
    const tar = untar(Buffer.from(await res.arrayBuffer()));
    const lora = tar.get('output/flux_train_replicate/lora.safetensors');
    expect(lora).toBeInstanceOf(Buffer);
    const n = Number(lora?.readBigUInt64LE(0));
    const header = JSON.parse(lora?.subarray(8, 8 + n).toString('utf8') ?? '{}') as Record<string, { shape?: number[]; data_offsets?: number[] }>;
    expect(header['transformer.single_transformer_blocks.0.attn.to_q.lora_A.weight']?.shape).toEqual([8, 3072]);
    const ends = Object.entries(header).filter(([k]) => k !== '__metadata__').map(([, v]) => v.data_offsets?.[1] ?? 0);
    expect((lora?.length ?? 0) - 8 - n).toBe(Math.max(...ends));
  });

  it('cancels a running training; canceled is terminal and stays so', async () => {
    const emu = await emulator();
    const client = clientFor(emu);
    const images = await uploadDataset(client);
    const t = await startTraining(client, emu, { input_images: images });
    await client.trainings.get(t.id);
    const canceled = replicateTrainingSchema.parse(await client.trainings.cancel(t.id));
    expect(canceled.status).toBe('canceled');
    expect(canceled.completed_at).toBeTruthy();
    expect(isTerminal(canceled.status)).toBe(true);
    expect((await client.trainings.get(t.id)).status).toBe('canceled');
  });

  it('reports aborted (never started) as terminal', async () => {
    const emu = await emulator();
    emu.plan('training', { outcome: 'aborted' });
    const client = clientFor(emu);
    const t = await startTraining(client, emu, { input_images: 'https://example.com/data.zip' });
    const seen = await follow(client, t.id);
    expect(seen.map((s) => s.status)).toEqual(['aborted']);
    expect(seen[0]?.started_at).toBeNull();
    expect(isTerminal('aborted')).toBe(true);
  });

  it('fails a training whose input_images is not a zip, with the trainer error', async () => {
    const emu = await emulator();
    const client = clientFor(emu);
    const notZip = replicateFileSchema.parse(await client.files.create(new File([new Uint8Array([1, 2, 3])], 'images.tar')));
    const t = await startTraining(client, emu, { input_images: notZip.urls.get });
    const done = (await follow(client, t.id)).at(-1);
    expect(done?.status).toBe('failed');
    expect(done?.error).toBe('input_images must be a zip file');
  });

  it('answers 422 for invalid trainer inputs and 404 for a missing destination or trainer version', async () => {
    const emu = await emulator();
    const client = clientFor(emu);
    const bad = (await startTraining(client, emu, { input_images: 'https://x.test/a.zip', steps: 10_000 }).catch((e: unknown) => e)) as Error & { response?: Response };
    expect(bad.response?.status).toBe(422);
    expect(bad.message).toContain('input.steps: Input should be less than or equal to 6000');

    const noDest = (await client.trainings
      .create(FLUX_TRAINER_OWNER, FLUX_TRAINER_NAME, FLUX_TRAINER_VERSION, { destination: `${emu.account}/nope`, input: { input_images: 'https://x.test/a.zip' } })
      .catch((e: unknown) => e)) as Error & { response?: Response };
    expect(noDest.response?.status).toBe(404);
    expect(noDest.message).toContain('destination');

    const noVersion = (await client.trainings
      .create(FLUX_TRAINER_OWNER, FLUX_TRAINER_NAME, 'f'.repeat(64), { destination: `${emu.account}/brand-loras`, input: {} })
      .catch((e: unknown) => e)) as Error & { response?: Response };
    expect(noVersion.response?.status).toBe(404);
    expect(emu.state.trainings).toHaveLength(0);
  });

  it('lists trainings in pages of {next, previous, results}', async () => {
    const emu = await emulator({ pageSize: 2 });
    const client = clientFor(emu);
    for (let i = 0; i < 3; i++) await startTraining(client, emu, { input_images: `https://x.test/${i}.zip` });
    const pages: string[][] = [];
    for await (const page of client.paginate(() => client.trainings.list())) pages.push(page.map((t) => t.id));
    expect(pages.map((p) => p.length)).toEqual([2, 1]);
    expect(pages.flat()).toEqual(emu.state.trainings.map((t) => t.id).reverse());
  });

  it('moves jobs by the clock when driven by time', async () => {
    const emu = await emulator({ drive: { by: 'clock', tickMs: 60_000 } });
    const client = clientFor(emu);
    const t = await startTraining(client, emu, { input_images: 'https://x.test/a.zip' });
    expect((await client.trainings.get(t.id)).status).toBe('starting');
    emu.advance(60_000);
    expect((await client.trainings.get(t.id)).status).toBe('processing');
    emu.advance(10 * 60_000);
    expect((await client.trainings.get(t.id)).status).toBe('succeeded');
  });
});

describe('retries against the emulator', () => {
  it('waits out a 429 with Retry-After before sending the training again, creating one training', async () => {
    const emu = await emulator();
    const delays: number[] = [];
    const client = clientFor(emu, { onRetry: (i) => delays.push(i.delayMs) });
    // Real header plus the fast test knob: the wait is 150 ms of real time.
    emu.faults.add({ kind: 'rate_limit', method: 'POST', path: /\/trainings$/, retryAfter: '1', retryAfterMs: 150 });
    const t = await startTraining(client, emu, { input_images: 'https://x.test/a.zip' });
    const posts = emu.state.requests.filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.status)).toEqual([429, 201]);
    expect(delays).toEqual([150]);
    expect((posts[1]?.at ?? 0) - (posts[0]?.at ?? 0)).toBeGreaterThanOrEqual(150);
    expect(emu.state.trainings.map((x) => x.id)).toEqual([t.id]);
  });

  it('reads a real-format Retry-After in seconds and as an HTTP date', async () => {
    const emu = await emulator();
    const fixedNow = Date.parse('2025-06-01T12:00:00Z');
    const slept: number[] = [];
    const client = clientFor(emu, { sleep: async (ms) => void slept.push(ms) }, () => fixedNow);
    emu.faults.add({ kind: 'rate_limit', path: '/v1/trainings', retryAfter: '2' });
    emu.faults.add({ kind: 'rate_limit', path: '/v1/trainings', retryAfter: new Date(fixedNow + 3000).toUTCString() });
    await client.trainings.list();
    expect(slept).toEqual([2000, 3000]);
    expect(emu.state.requests.map((r) => r.status)).toEqual([429, 429, 200]);
  });

  it('gives up after its attempts with a clear error, and the client does not multiply the requests', async () => {
    const emu = await emulator();
    const client = clientFor(emu, { maxAttempts: 3, sleep: async () => undefined });
    emu.faults.add({ kind: 'rate_limit', times: 100, retryAfter: '1' });
    const e = (await client.predictions.list().catch((err: unknown) => err)) as LoraloopError;
    expect(e.code).toBe('UPSTREAM_RATE_LIMITED');
    expect(e.message).toContain('HTTP 429');
    expect(e.message).toContain('3 attempts');
    // Without the shield the official client would have called our fetch 6 times (18 requests).
    expect(emu.state.requests).toHaveLength(3);
  });

  it('retries a GET that hit 500s', async () => {
    const emu = await emulator();
    const client = clientFor(emu, { sleep: async () => undefined });
    emu.faults.add({ kind: 'server_error', method: 'GET', times: 2, status: 503 });
    const page = (await client.trainings.list()) as { results: unknown[] };
    expect(page.results).toEqual([]);
    expect(emu.state.requests.map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('a cut connection on trainings.create leaves exactly one training and a clear UPSTREAM_UNREACHABLE', async () => {
    const emu = await emulator();
    const client = clientFor(emu);
    emu.faults.add({ kind: 'cut', method: 'POST', path: /\/trainings$/ });
    const e = (await startTraining(client, emu, { input_images: 'https://x.test/a.zip', trigger_word: 'SOL' }).catch((err: unknown) => err)) as LoraloopError;
    expect(e).toBeInstanceOf(LoraloopError);
    expect(e.code).toBe('UPSTREAM_UNREACHABLE');
    expect(e.message).toContain('not repeated');
    expect(e.hint).toContain('list');
    expect(emu.state.requests.filter((r) => r.method === 'POST').map((r) => r.status)).toEqual(['cut']);
    expect(emu.state.trainings).toHaveLength(1);

    // The caller finds the training that was created before creating another one.
    const page = (await client.trainings.list()) as { results: Array<{ id: string; destination?: string; input: Record<string, unknown> }> };
    const mine = page.results.filter((t) => t.destination === `${emu.account}/brand-loras` && t.input['trigger_word'] === 'SOL');
    expect(mine.map((t) => t.id)).toEqual([emu.state.trainings[0]?.id]);
  });
});

describe('lost and hung requests', () => {
  it('a connection dropped before processing is not re-sent either (the client cannot tell the difference)', async () => {
    const emu = await emulator();
    const client = clientFor(emu);
    emu.faults.add({ kind: 'drop', method: 'POST' });
    const e = (await startTraining(client, emu, { input_images: 'https://x.test/a.zip' }).catch((err: unknown) => err)) as LoraloopError;
    expect(e.code).toBe('UPSTREAM_UNREACHABLE');
    expect(emu.state.requests.map((r) => r.status)).toEqual(['dropped']);
    expect(emu.state.trainings).toHaveLength(0);
  });

  it('a POST that hangs past the attempt timeout is reported, not re-sent, and may still have been done', async () => {
    const emu = await emulator();
    const client = clientFor(emu, { attemptTimeoutMs: 100 });
    emu.faults.add({ kind: 'slow', method: 'POST', delayMs: 300 });
    const e = (await startTraining(client, emu, { input_images: 'https://x.test/a.zip' }).catch((err: unknown) => err)) as LoraloopError;
    expect(e.code).toBe('UPSTREAM_UNREACHABLE');
    expect(e.message).toContain('no answer within 100 ms');
    await new Promise((r) => setTimeout(r, 400));
    expect(emu.state.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    expect(emu.state.trainings).toHaveLength(1);
  });

  it('a GET that hangs is retried', async () => {
    const emu = await emulator();
    const client = clientFor(emu, { attemptTimeoutMs: 100 });
    emu.faults.add({ kind: 'slow', method: 'GET', delayMs: 300 });
    await client.trainings.list();
    expect(emu.state.requests.filter((r) => r.method === 'GET')).toHaveLength(2);
  });
});

describe('predictions', () => {
  it('Prefer: wait returns 201 with real PNG outputs; run() returns them', async () => {
    const emu = await emulator();
    const client = clientFor(emu);
    const p = await client.predictions.create({ model: 'black-forest-labs/flux-schnell', input: { prompt: 'a solana coin', num_outputs: 2 }, wait: 5 });
    expect(p.status).toBe('succeeded');
    expect(p.version).toBe('hidden');
    expect(emu.state.requests.at(-1)?.status).toBe(201);
    const urls = p.output as string[];
    expect(urls).toHaveLength(2);
    const meta = await sharp(Buffer.from(await (await fetch(urls[0] ?? '')).arrayBuffer())).metadata();
    expect(meta.format).toBe('png');

    // run() turns only https: URLs into FileOutput objects, so against http://127.0.0.1 it returns strings.
    const out = (await client.run('black-forest-labs/flux-dev', { input: { prompt: 'x', width: 32, height: 48 } })) as string[];
    const png = Buffer.from(await (await fetch(out[0] ?? '')).arrayBuffer());
    expect((await sharp(png).metadata()).height).toBe(48);
  });

  it('Prefer: wait that does not finish in time answers 202 with the prediction still starting', async () => {
    const emu = await emulator();
    emu.plan('prediction', { syncCompletes: false });
    const client = clientFor(emu);
    const p = await client.predictions.create({ model: 'black-forest-labs/flux-schnell', input: { prompt: 'x' }, wait: 2 });
    expect(p.status).toBe('starting');
    expect(emu.state.requests.at(-1)?.status).toBe(202);
  });

  it('runs a trained version asynchronously, and can cancel another one', async () => {
    const emu = await emulator({ models: [{ owner: 'loraloop', name: 'solana', versions: ['a'.repeat(64)] }] });
    const client = clientFor(emu);
    const p = await client.predictions.create({ version: 'a'.repeat(64), input: { prompt: 'TOK coin' } });
    expect(p.status).toBe('starting');
    let cur = p;
    while (!isTerminal(cur.status)) cur = await client.predictions.get(p.id);
    expect(cur.status).toBe('succeeded');
    expect(cur.model).toBe('loraloop/solana');

    const q = await client.predictions.create({ version: `loraloop/solana:${'a'.repeat(64)}`, input: { prompt: 'y' } });
    expect((await client.predictions.cancel(q.id)).status).toBe('canceled');
    const unknown = (await client.predictions.create({ version: 'b'.repeat(64), input: {} }).catch((e: unknown) => e)) as Error & { response?: Response };
    expect(unknown.response?.status).toBe(422);
  });
});

describe('webhooks', () => {
  interface Received {
    headers: IncomingHttpHeaders;
    body: string;
  }
  let receiver: Server;
  let receiverUrl: string;
  const received: Received[] = [];
  let failNextCompleted = 0;

  beforeAll(async () => {
    receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        received.push({ headers: req.headers, body });
        const terminal = isTerminal((JSON.parse(body) as { status: string }).status);
        if (terminal && failNextCompleted > 0) {
          failNextCompleted--;
          res.writeHead(503).end();
          return;
        }
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
    receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/replicate?job=42`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => receiver.close(() => r()));
  });

  it('signs every webhook so our verifier accepts it, retries the terminal one, and refuses tampering and stale times', async () => {
    received.length = 0;
    failNextCompleted = 1;
    const emu = await emulator({ drive: { by: 'manual' } });
    const client = clientFor(emu);
    const { key } = await client.webhooks.default.secret.get();
    expect(key).toBe(emu.webhookSecret);

    const t = await startTraining(client, emu, { input_images: 'https://x.test/a.zip' }, { webhook: receiverUrl, webhook_events_filter: ['start', 'completed'] });
    emu.step(t.id, 10);
    await emu.webhooksIdle();

    const statuses = received.map((r) => (JSON.parse(r.body) as { status: string }).status);
    // start, then the terminal event twice: the first answer was 503, so it was retried.
    expect(statuses).toEqual(['starting', 'succeeded', 'succeeded']);
    const terminal = emu.state.webhooks.find((w) => w.event === 'completed');
    expect(terminal).toMatchObject({ attempts: 2, responses: [503, 204], state: 'delivered' });
    expect(received[1]?.headers['webhook-id']).toBe(received[2]?.headers['webhook-id']);

    for (const r of received) {
      expect(verifyWebhook({ headers: r.headers, body: r.body }, { secret: key, now: emu.now })).toMatchObject({ ok: true });
    }
    const last = received[2]!;
    const tampered = last.body.replace('"succeeded"', '"failed"');
    expect(verifyWebhook({ headers: last.headers, body: tampered }, { secret: key, now: emu.now })).toMatchObject({ ok: false, reason: 'bad_signature' });
    const tenMinutesLater = () => emu.now() + 10 * 60_000;
    expect(verifyWebhook({ headers: last.headers, body: last.body }, { secret: key, now: tenMinutesLater })).toMatchObject({ ok: false, reason: 'stale_timestamp' });
    const body = JSON.parse(last.body) as { id: string; output: { weights: string } };
    expect(body.id).toBe(t.id);
    expect(body.output.weights).toContain('/delivery/');
  });

  it('does not retry intermediate webhooks and sends only the filtered events', async () => {
    received.length = 0;
    const emu = await emulator({ drive: { by: 'manual' } });
    const client = clientFor(emu);
    const dead = 'http://127.0.0.1:9/unreachable';
    const t = await startTraining(client, emu, { input_images: 'https://x.test/a.zip' }, { webhook: dead, webhook_events_filter: ['logs'] });
    emu.step(t.id, 2);
    await emu.webhooksIdle();
    const deliveries = emu.state.webhooks;
    expect(deliveries.map((d) => d.event)).toEqual(['logs', 'logs']);
    expect(deliveries.every((d) => d.attempts === 1 && d.state === 'failed')).toBe(true);
  });
});

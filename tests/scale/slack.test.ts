/**
 * A Slack bot in a cluster (LORALOOP_QUEUE=pg-boss): the bot's host has no GPU and makes nothing itself. The
 * mention becomes a queued call that a worker (another home) runs; the bot posts the worker's cover, read from
 * the shared bucket by its hash.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWorker } from '../../src/agent/worker.js';
import { createSlackApp, type SlackApp } from '../../src/faces/slack/app.js';
import { eventBody, mentionEvent, postToApp, startSlackEmulator, type SlackEmulator } from '../emulators/slack.js';
import { makeTestApp } from '../support/app.js';
import { startS3, type RunningS3 } from '../support/object-stores.js';
import { postgresBinDir, startPostgres, type RunningPostgres } from '../support/postgres.js';

const SECRET = 'signing-secret-for-cluster-tests-41c2';
const BOT_TOKEN = 'bot-token-for-cluster-tests-9d07';
const run = postgresBinDir() && process.env.LORALOOP_TEST_DATABASE !== 'postgres' ? describe : describe.skip;

let pg: RunningPostgres | undefined;
let s3: RunningS3 | undefined;
let emu: SlackEmulator | undefined;
beforeAll(async () => {
  if (!postgresBinDir() || process.env.LORALOOP_TEST_DATABASE === 'postgres') return;
  [pg, s3, emu] = await Promise.all([startPostgres(), startS3(['slackcluster']), startSlackEmulator({ botToken: BOT_TOKEN })]);
}, 60_000);
afterAll(async () => {
  await emu?.close();
  await s3?.stop();
  await pg?.stop();
});

run('the Slack bot on a host without GPUs', () => {
  it('queues the cover, a worker makes it, and the bot posts exactly the stored cover', async () => {
    const env = { LORALOOP_DATABASE_URL: await pg!.database('slack'), LORALOOP_QUEUE: 'pg-boss', LORALOOP_BLOBS: 's3://slackcluster', ...s3!.env };
    const bot = makeTestApp(env);
    const worker = makeTestApp(env);
    const stop = new AbortController();
    let slack: SlackApp | undefined;
    let working: Promise<void> | undefined;
    try {
      working = runWorker(worker.app, { signal: stop.signal, calls: 2, drafts: false, nightly: false, trainings: 0, pollMs: 100 });
      slack = createSlackApp(bot.app, { botToken: BOT_TOKEN, signingSecret: SECRET, apiUrl: emu!.apiUrl, port: 0, progressIntervalMs: 0, apiRetries: 0, random: () => 0.5 });
      const url = (await slack.start()).url ?? '';
      const ts = '1700000100.000100';
      const res = await postToApp(url, eventBody(mentionEvent('make a Solana cover: Solana ETF inflows hit $1B', { channel: 'CCLUSTER', ts })), { signingSecret: SECRET, contentType: 'application/json' });
      expect(res.status).toBe(200);
      const upload = await emu!.waitFor(() => emu!.uploads.find((u) => u.completed && u.channel_id === 'CCLUSTER' && u.thread_ts === ts), 60_000);
      await slack.idle();
      expect(upload.initial_comment).toContain('Solana (SOL)');
      // The cover the bot posted is the one the worker stored: same bytes, and the worker's home holds its file.
      const coverId = /^cover-(.+)\.png$/.exec(upload.filename)?.[1] ?? '';
      const record = await bot.app.services.store.covers.get(coverId);
      expect(record?.blob_sha256).toBe(createHash('sha256').update(upload.bytes!).digest('hex'));
      expect(record?.blob_path.startsWith(worker.home)).toBe(true);
      // The work went through the queue: a finished call job, queued by the bot's host.
      const calls = await bot.app.services.store.jobs.list({ kind: 'call' });
      expect(calls.some((j) => j.status === 'succeeded' && (j.state as { queued?: boolean }).queued === true)).toBe(true);
    } finally {
      await slack?.stop();
      stop.abort();
      await working;
      await bot.dispose();
      await worker.dispose();
    }
  }, 120_000);
});

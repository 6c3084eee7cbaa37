/**
 * The Slack bot end to end: signed requests to the real Bolt HTTP receiver on 127.0.0.1, the bot's Web API
 * client pointed at the local Slack emulator, covers made by the real tools on a temp LORALOOP_HOME.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/core/logger.js';
import { createCoverRenderer, type CoverRenderer } from '../../../src/cover/render/renderer.js';
import { createSlackApp, type SlackApp } from '../../../src/faces/slack/app.js';
import { ACTION_AGAIN, ACTION_STYLE } from '../../../src/faces/slack/blocks.js';
import { HELP_TEXT } from '../../../src/faces/slack/parse.js';
import {
  blockActionBody,
  dmEvent,
  eventBody,
  mentionEvent,
  postToApp,
  slashCommandBody,
  startSlackEmulator,
  type SlackEmulator,
  type SlackMessage,
  type SlackUpload,
} from '../../emulators/slack.js';
import { makeTestApp } from '../../support/app.js';
import { dataOf } from '../../support/result.js';

// Neither looks like a token pattern the logger redacts on its own: a leak would show in the log lines.
const SECRET = 'signing-secret-for-tests-7f3a9c';
const BOT_TOKEN = 'bot-token-for-tests-5e1d22';
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

let emu: SlackEmulator;
let testApp: ReturnType<typeof makeTestApp>;
let slack: SlackApp;
let eventsUrl: string;
const logLines: string[] = [];
/** While set, every render waits for it: lets a test see the ack arrive before the work. */
let renderGate: Promise<void> | null = null;

/** The real renderer behind a gate (an injected service, not a mock: every render still happens). */
function gatedRenderer(real: CoverRenderer): CoverRenderer {
  return {
    ...real,
    async render(input) {
      if (renderGate) await renderGate;
      return real.render(input);
    },
  };
}

/** Hold every render until the returned function is called. */
function holdRenders(): () => void {
  let release!: () => void;
  renderGate = new Promise<void>((r) => (release = r));
  return () => {
    renderGate = null;
    release();
  };
}

const signed = (body: string, contentType: 'application/json' | 'application/x-www-form-urlencoded' = 'application/json') =>
  postToApp(eventsUrl, body, { signingSecret: SECRET, contentType });

const uploadsIn = (channel: string, thread?: string) => emu.uploads.filter((u) => u.completed && u.channel_id === channel && (!thread || u.thread_ts === thread));
const coverIdOf = (u: SlackUpload) => /^cover-(.+)\.png$/.exec(u.filename)?.[1] ?? '';

beforeAll(async () => {
  emu = await startSlackEmulator({ botToken: BOT_TOKEN, notInChannel: ['CLOCKED'] });
  const logger = createLogger({ level: 'debug', write: (l) => logLines.push(l) });
  testApp = makeTestApp({}, { logger, renderer: gatedRenderer(createCoverRenderer()) });
  slack = createSlackApp(testApp.app, {
    botToken: BOT_TOKEN,
    signingSecret: SECRET,
    apiUrl: emu.apiUrl,
    port: 0,
    progressIntervalMs: 0,
    apiRetries: 0,
    random: () => 0.5,
  });
  const started = await slack.start();
  eventsUrl = started.url ?? '';
});

afterAll(async () => {
  await slack?.stop();
  await testApp?.dispose();
  await emu?.close();
});

describe('Slack bot over the HTTP receiver', () => {
  it('verified the bot token with auth.test before listening on /slack/events', () => {
    expect(eventsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/slack\/events$/);
    expect(emu.calls.find((c) => c.method === 'auth.test')?.authed).toBe(true);
  });

  it('passes Slack\'s Request URL check (a signed url_verification challenge)', async () => {
    const res = await signed(JSON.stringify({ token: 'legacy', challenge: 'challenge-abc', type: 'url_verification' }));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ challenge: 'challenge-abc' });
  });

  it('answers a mention first, then posts progress, the cover PNG and the buttons in the thread', async () => {
    const release = holdRenders();
    const ts = '1700000000.000100';
    const res = await signed(eventBody(mentionEvent('make a Solana cover: Solana ETF inflows hit $1B', { channel: 'CMENTION', ts })));
    // Acknowledged while the render is still held: Slack's 3-second rule cannot depend on render time.
    expect(res.status).toBe(200);
    const working = await emu.waitFor(() => emu.thread('CMENTION', ts).find((m) => m.text.includes('Working on a cover')));
    expect(working.thread_ts).toBe(ts);
    expect(uploadsIn('CMENTION')).toHaveLength(0);
    release();
    await slack.idle();

    const [upload] = uploadsIn('CMENTION', ts);
    expect(upload).toBeDefined();
    const bytes = upload!.bytes!;
    expect(bytes.subarray(0, 8).equals(PNG_MAGIC)).toBe(true);
    expect(bytes.length).toBe(upload!.length);
    // The bytes in Slack are exactly the stored cover.
    const record = await testApp.app.services.store.covers.get(coverIdOf(upload!));
    expect(record?.blob_sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
    expect(upload!.initial_comment).toMatch(/^Coin: Solana \(SOL\) · (LoRA .+|no LoRA) · [\w-]+ palette (#[0-9a-f]{6} ?)+.* · score [01]\.\d\d\b/i);
    expect(upload!.initial_comment).not.toContain('\n');

    const thread = emu.thread('CMENTION', ts);
    const buttons = thread.find((m) => m.blocks);
    const actionIds = JSON.stringify(buttons?.blocks);
    for (const id of [ACTION_AGAIN, ACTION_STYLE, 'cover_rate_1', 'cover_rate_5']) expect(actionIds).toContain(`"${id}"`);
    // The progress message was edited as steps finished and ends saying the cover is ready.
    expect(working.history.length).toBeGreaterThanOrEqual(3);
    expect(working.text).toContain('Cover ready');
    expect(emu.calls.filter((c) => c.method === 'chat.update').length).toBeGreaterThanOrEqual(2);
    expect(emu.calls.every((c) => c.authed)).toBe(true);
  });

  it('makes a cover from a direct message', async () => {
    const ts = '1700000001.000200';
    expect((await signed(eventBody(dmEvent('cover for Bitcoin tops $100k as ETFs pull in record cash', { channel: 'DUSER', ts })))).status).toBe(200);
    await slack.idle();
    const [upload] = uploadsIn('DUSER', ts);
    expect(upload?.initial_comment).toContain('Bitcoin (BTC)');
  });

  it('the slash command acknowledges at once and starts a thread with the cover in it', async () => {
    const release = holdRenders();
    const res = await signed(slashCommandBody('Ethereum developers set a date for the next upgrade', { channel: 'CSLASH' }), 'application/x-www-form-urlencoded');
    // The HTTP answer (the ack) came back while the render is held.
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    release();
    await slack.idle();
    const parent = emu.messages.find((m) => m.channel === 'CSLASH' && !m.thread_ts);
    expect(parent?.text).toContain('<@UHUMAN> asked for a cover');
    expect(uploadsIn('CSLASH', parent!.ts)).toHaveLength(1);
  });

  it('"Generate again" makes a new cover of the same brief in the same thread; "Another style" changes the style', async () => {
    const ts = '1700000002.000300';
    await signed(eventBody(mentionEvent('cover for Solana validators ship Firedancer', { channel: 'CAGAIN', ts })));
    await slack.idle();
    const buttons = emu.thread('CAGAIN', ts).find((m) => m.blocks) as SlackMessage;
    const value = (id: string) => {
      const found = JSON.stringify(buttons.blocks).match(new RegExp(`"action_id":"${id}","value":"((?:[^"\\\\]|\\\\.)*)"`));
      return JSON.parse(`"${found?.[1] ?? ''}"`) as string;
    };
    const first = uploadsIn('CAGAIN', ts)[0]!;

    const again = await signed(blockActionBody({ action_id: ACTION_AGAIN, value: value(ACTION_AGAIN) }, { channel: 'CAGAIN', message_ts: buttons.ts, thread_ts: ts }), 'application/x-www-form-urlencoded');
    expect(again.status).toBe(200);
    await slack.idle();
    const second = uploadsIn('CAGAIN', ts)[1]!;
    expect(second).toBeDefined();
    const [a, b] = await Promise.all([first, second].map(async (u) => (await testApp.app.services.store.covers.get(coverIdOf(u)))!));
    expect(b!.id).not.toBe(a!.id);
    expect(b!.title).toBe(a!.title);
    expect(b!.seed).not.toBe(a!.seed);

    await signed(blockActionBody({ action_id: ACTION_STYLE, value: value(ACTION_STYLE) }, { channel: 'CAGAIN', message_ts: buttons.ts, thread_ts: ts }), 'application/x-www-form-urlencoded');
    await slack.idle();
    const third = (await testApp.app.services.store.covers.get(coverIdOf(uploadsIn('CAGAIN', ts)[2]!)))!;
    expect(third.title).toBe(a!.title);
    expect(third.style).not.toBe(a!.style);
  });

  it('a rating button answers the person privately', async () => {
    const ts = '1700000003.000400';
    await signed(eventBody(mentionEvent('cover for XRP wins in court', { channel: 'CRATE', ts })));
    await slack.idle();
    const buttons = emu.thread('CRATE', ts).find((m) => m.blocks)!;
    const rate4 = (JSON.stringify(buttons.blocks).match(/"action_id":"cover_rate_4","value":"((?:[^"\\]|\\.)*)"/) ?? [])[1] ?? '';
    const res = await signed(blockActionBody({ action_id: 'cover_rate_4', value: JSON.parse(`"${rate4}"`) as string, block_id: 'cover_rating' }, { channel: 'CRATE', message_ts: buttons.ts, thread_ts: ts }), 'application/x-www-form-urlencoded');
    expect(res.status).toBe(200);
    await slack.idle();
    const note = emu.ephemerals.find((e) => e.channel === 'CRATE' && e.user === 'UHUMAN');
    expect(note?.text).toMatch(/Saved your rating: 4\/5/);
    // The rating is in the same store cover_rate writes: a second rater's 2 stars average with the Slack 4.
    const coverId = coverIdOf(uploadsIn('CRATE', ts)[0]!);
    const second = await testApp.app.tools.execute('cover_rate', { cover_id: coverId, stars: 2, rater: 'test' }, testApp.app.context());
    expect(dataOf(second)).toMatchObject({ raters: 2, mean_stars: 3 });
  });

  it('answers a message it does not understand with the help text, and the slash command privately', async () => {
    const ts = '1700000004.000500';
    await signed(eventBody(mentionEvent('what is the price of SOL?', { channel: 'CHELP', ts })));
    await slack.idle();
    expect(emu.thread('CHELP', ts).map((m) => m.text)).toEqual([HELP_TEXT]);
    const res = await signed(slashCommandBody('', { channel: 'CHELP' }), 'application/x-www-form-urlencoded');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toMatchObject({ response_type: 'ephemeral', text: HELP_TEXT });
  });

  it('a failed cover becomes a friendly message in the thread', async () => {
    const ts = '1700000005.000600';
    await signed(eventBody(mentionEvent(`cover for ${'Very long headline '.repeat(20)}`, { channel: 'CERR', ts })));
    await slack.idle();
    const texts = emu.thread('CERR', ts).map((m) => m.text);
    expect(texts.some((t) => /Sorry, I could not make the cover/.test(t) && /characters long/.test(t))).toBe(true);
    expect(uploadsIn('CERR')).toHaveLength(0);
  });

  it('a cover Slack refuses to take is explained in the thread', async () => {
    const ts = '1700000006.000700';
    emu.failNext('files.completeUploadExternal', 'file_uploads_disabled');
    await signed(eventBody(mentionEvent('cover for Cardano upgrade goes live', { channel: 'CNOFILES', ts })));
    await slack.idle();
    const texts = emu.thread('CNOFILES', ts).map((m) => m.text);
    expect(texts.some((t) => t.includes('could not post it') && t.includes('file_uploads_disabled'))).toBe(true);
  });

  it('tells the person privately when it cannot post in the channel of a slash command', async () => {
    const res = await signed(slashCommandBody('Solana ETF inflows hit $1B', { channel: 'CLOCKED', responseUrl: emu.responseUrl('locked') }), 'application/x-www-form-urlencoded');
    expect(res.status).toBe(200);
    await slack.idle();
    const answer = emu.responses.find((r) => r.id === 'locked')?.body as { text?: string; response_type?: string } | undefined;
    expect(answer?.response_type).toBe('ephemeral');
    expect(answer?.text).toContain('not_in_channel');
  });

  it('one event delivered twice (a Slack retry) is answered once', async () => {
    const ts = '1700000007.000800';
    const body = eventBody(mentionEvent('hello', { channel: 'CRETRY', ts }), 'EvRetry1');
    await signed(body);
    await signed(body);
    await slack.idle();
    expect(emu.thread('CRETRY', ts)).toHaveLength(1);
  });

  it('refuses forged, replayed and unsigned requests with 401, and nothing runs', async () => {
    const callsBefore = emu.calls.length;
    const body = eventBody(mentionEvent('make a Solana cover: forged', { channel: 'CFORGED', ts: '1700000008.000900' }));
    const forged = await postToApp(eventsUrl, body, { signingSecret: 'not-the-secret' });
    const tampered = await postToApp(eventsUrl, body, { signature: 'v0=' + 'ab'.repeat(32) });
    const stale = await postToApp(eventsUrl, body, { signingSecret: SECRET, timestamp: Math.floor(Date.now() / 1000) - 6 * 60 });
    const unsigned = await postToApp(eventsUrl, body);
    const slash = await postToApp(eventsUrl, slashCommandBody('forged', { channel: 'CFORGED' }), { signingSecret: 'nope', contentType: 'application/x-www-form-urlencoded' });
    expect([forged, tampered, stale, unsigned, slash].map((r) => r.status)).toEqual([401, 401, 401, 401, 401]);
    // A genuine request afterwards is served, so the receiver was listening all along.
    await signed(eventBody(mentionEvent('hello', { channel: 'CFORGED2', ts: '1700000009.000100' })));
    await slack.idle();
    expect(emu.thread('CFORGED2', '1700000009.000100')).toHaveLength(1);
    expect(emu.messages.filter((m) => m.channel === 'CFORGED')).toHaveLength(0);
    expect(emu.calls.slice(callsBefore).every((c) => c.args.channel !== 'CFORGED')).toBe(true);
  });

  it('never writes the bot token or the signing secret to the log', () => {
    const all = logLines.join('\n');
    if (process.env.SHOW_LOGS) console.log(all);
    expect(logLines.length).toBeGreaterThan(0);
    expect(all).not.toContain(BOT_TOKEN);
    expect(all).not.toContain(SECRET);
  });
});

describe('Slack bot configuration', () => {
  it('names the missing variable before doing anything', () => {
    const t = makeTestApp();
    try {
      expect(() => createSlackApp(t.app, {})).toThrow(/SLACK_BOT_TOKEN/);
      expect(() => createSlackApp(t.app, { botToken: BOT_TOKEN })).toThrow(/SLACK_SIGNING_SECRET/);
    } finally {
      void t.dispose();
    }
  });

  it('a token Slack refuses stops start() with a sentence', async () => {
    const t = makeTestApp();
    const bot = createSlackApp(t.app, { botToken: 'wrong-token', signingSecret: SECRET, apiUrl: emu.apiUrl, port: 0, apiRetries: 0 });
    try {
      await expect(bot.start()).rejects.toThrow(/Slack refused SLACK_BOT_TOKEN \(invalid_auth\)/);
    } finally {
      await bot.stop();
      await t.dispose();
    }
  });
});

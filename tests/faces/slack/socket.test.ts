/**
 * Socket Mode: with SLACK_APP_TOKEN the bot opens no port; it asks apps.connections.open for a WebSocket URL
 * (on the emulator, through SLACK_API_URL) and receives envelopes there, acknowledging each.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSlackApp, type SlackApp } from '../../../src/faces/slack/app.js';
import { HELP_TEXT } from '../../../src/faces/slack/parse.js';
import { eventBody, mentionEvent, slashCommandBody, startSlackEmulator, type SlackEmulator } from '../../emulators/slack.js';
import { makeTestApp } from '../../support/app.js';

const BOT_TOKEN = 'socket-bot-token-6a2f';
const APP_TOKEN = 'socket-app-token-0c8e';
let emu: SlackEmulator;
let testApp: ReturnType<typeof makeTestApp>;
let slack: SlackApp;

beforeAll(async () => {
  emu = await startSlackEmulator({ botToken: BOT_TOKEN, appToken: APP_TOKEN });
  testApp = makeTestApp();
  slack = createSlackApp(testApp.app, { botToken: BOT_TOKEN, appToken: APP_TOKEN, apiUrl: emu.apiUrl, progressIntervalMs: 0, apiRetries: 0 });
  expect(await slack.start()).toEqual({ mode: 'socket' });
  await emu.waitFor(() => emu.sockets() === 1);
});

afterAll(async () => {
  await slack?.stop();
  await testApp?.dispose();
  await emu?.close();
});

describe('Slack bot over Socket Mode', () => {
  it('connected with the app token and opened no port', () => {
    expect(slack.mode).toBe('socket');
    const open = emu.calls.find((c) => c.method === 'apps.connections.open');
    expect(open?.authed).toBe(true);
  });

  it('acknowledges a mention envelope and posts the cover in the thread', async () => {
    const ts = '1700000200.000100';
    const ack = await emu.socketSend('events_api', JSON.parse(eventBody(mentionEvent('make a Solana cover: Solana ETF inflows hit $1B', { channel: 'CSOCK', ts }))));
    expect(ack.envelope_id).toMatch(/^env-/);
    await slack.idle();
    const upload = emu.uploads.find((u) => u.completed && u.channel_id === 'CSOCK');
    expect(upload?.thread_ts).toBe(ts);
    expect(upload?.initial_comment).toContain('Solana (SOL)');
  });

  it('answers `/cover` with no text privately in the ack itself', async () => {
    const payload = Object.fromEntries(new URLSearchParams(slashCommandBody('', { channel: 'CSOCK' })));
    const ack = await emu.socketSend('slash_commands', payload);
    expect(ack.payload).toMatchObject({ response_type: 'ephemeral', text: HELP_TEXT });
  });
});

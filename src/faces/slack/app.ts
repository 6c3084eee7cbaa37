/**
 * The Slack face: a @slack/bolt app over the tool registry. Socket Mode when an app-level token is given,
 * otherwise Bolt's HTTPReceiver at /slack/events (it checks every request's v0 signature and refuses
 * timestamps older than five minutes with 401 before any listener runs).
 *
 * Every listener acknowledges first and then works (Slack wants an answer within 3 seconds); the work is
 * tracked so `stop()` and tests can wait for it, and queued so a burst of requests renders a few at a time.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App as BoltApp, type webApi } from '@slack/bolt';
import PQueue from 'p-queue';
import type { App } from '../../app.js';
import { LoraloopError } from '../../core/errors.js';
import { ACTION_AGAIN, ACTION_RATE_RE, ACTION_STYLE, anotherStyle, decodeButtonValue } from './blocks.js';
import type { CoverJob } from './cover-runner.js';
import { coverFlow, rateFlow, type Destination, type FlowDeps } from './flow.js';
import { toBoltLogger } from './logger.js';
import { HELP_TEXT, parseMessage, parseSlashCommand, type SlackRequest } from './parse.js';
import { describeSlackError, slackErrorCode } from './wording.js';

/** Options of the Slack face; tokens default to the app's config (SLACK_* variables). */
export interface SlackAppOptions {
  botToken?: string | undefined;
  signingSecret?: string | undefined;
  /** `xapp-...`: when set, Socket Mode is used and no port is opened. */
  appToken?: string | undefined;
  /** Web API base (a proxy or an emulator), ending in `/api/`. */
  apiUrl?: string | undefined;
  /** HTTP mode: port to listen on (0 = any free port). Default 3000. */
  port?: number;
  /** HTTP mode: interface to bind. Default 127.0.0.1 (put a tunnel or reverse proxy in front). */
  host?: string;
  /** The slash command's name. Default `/cover`. */
  command?: string;
  /** Minimum time between two edits of a progress message. Default 1000 ms. */
  progressIntervalMs?: number;
  /** Covers rendered at the same time. Default 2. */
  concurrency?: number;
  /** Retries of a failed Web API call (network errors, 429). Default 3. */
  apiRetries?: number;
  /** Randomness for "Another style" (tests pin it). */
  random?: () => number;
}

/** A running (or ready to run) Slack bot. */
export interface SlackApp {
  bolt: BoltApp;
  mode: 'http' | 'socket';
  /** Verify the bot token (auth.test), then listen (HTTP) or connect (Socket Mode). */
  start(): Promise<{ mode: 'http' | 'socket'; url?: string; port?: number }>;
  /** Stop receiving, then wait for covers in progress to be posted. */
  stop(): Promise<void>;
  /** Resolves when no acknowledged work is left (tests wait on it). */
  idle(): Promise<void>;
}

const SEEN_EVENTS_MAX = 1000;

function missing(variable: string, why: string): LoraloopError {
  return new LoraloopError('NOT_CONFIGURED', `${variable} is not set; ${why}.`, {
    hint: 'Create the Slack app as the README describes and set SLACK_BOT_TOKEN plus either SLACK_APP_TOKEN (Socket Mode) or SLACK_SIGNING_SECRET (HTTP).',
  });
}

/** Build the bot. No network and no listening until `start()`. */
export function createSlackApp(app: App, opts: SlackAppOptions = {}): SlackApp {
  const cfg = app.services.config.slack;
  const botToken = opts.botToken ?? cfg.botToken;
  const signingSecret = opts.signingSecret ?? cfg.signingSecret;
  const appToken = opts.appToken ?? cfg.appToken;
  const apiUrl = opts.apiUrl ?? cfg.apiUrl;
  if (!botToken) throw missing('SLACK_BOT_TOKEN', 'the bot needs its xoxb- token to post covers');
  const mode: 'http' | 'socket' = appToken ? 'socket' : 'http';
  if (mode === 'http' && !signingSecret) throw missing('SLACK_SIGNING_SECRET', 'HTTP mode checks every request signature with it (or set SLACK_APP_TOKEN for Socket Mode)');
  const logger = app.services.logger.child({ face: 'slack' });
  const random = opts.random ?? Math.random;
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 3000;
  const command = opts.command ?? '/cover';

  const clientOptions: webApi.WebClientOptions = {
    ...(apiUrl ? { slackApiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/` } : {}),
    retryConfig: { retries: opts.apiRetries ?? 3, factor: 2, minTimeout: 500, maxTimeout: 5000 },
    timeout: 30_000,
  };
  const bolt = new BoltApp({
    token: botToken,
    logger: toBoltLogger(logger),
    clientOptions,
    // auth.test runs in start(), not in the constructor: no network at construction, and a bad token
    // fails start() with a sentence instead of an unhandled rejection.
    deferInitialization: true,
    ...(mode === 'socket' ? { socketMode: true, appToken } : { signingSecret, endpoints: '/slack/events', processBeforeResponse: false }),
  });

  const queue = new PQueue({ concurrency: Math.max(1, opts.concurrency ?? 2) });
  const inflight = new Set<Promise<unknown>>();
  const abort = new AbortController();
  const seenEvents = new Set<string>();

  /** Run acknowledged work in the background, never letting a rejection go unhandled. */
  const track = (what: string, work: () => Promise<unknown>) => {
    const p = (async () => {
      try {
        await work();
      } catch (e) {
        logger.error(`slack: ${what} failed`, { error: describeSlackError(e), code: slackErrorCode(e) });
      }
    })();
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  const deps = (client: webApi.WebClient): FlowDeps => ({
    app,
    client,
    logger,
    schedule: (work) => queue.add(work, { throwOnTimeout: true }),
    busy: () => queue.size + queue.pending,
    progressIntervalMs: opts.progressIntervalMs ?? 1000,
    signal: abort.signal,
  });

  /** Slack re-sends an event it thinks we missed; one request must make one cover. */
  const firstTime = (eventId: unknown): boolean => {
    if (typeof eventId !== 'string') return true;
    if (seenEvents.has(eventId)) return false;
    seenEvents.add(eventId);
    if (seenEvents.size > SEEN_EVENTS_MAX) {
      const oldest = seenEvents.values().next().value;
      if (oldest !== undefined) seenEvents.delete(oldest);
    }
    return true;
  };

  const answer = (client: webApi.WebClient, where: Destination, req: SlackRequest) => {
    if (req.kind === 'help') {
      track('help reply', () => client.chat.postMessage({ channel: where.channel, text: HELP_TEXT, ...(where.thread_ts ? { thread_ts: where.thread_ts } : {}) }));
      return;
    }
    const job: CoverJob = { title: req.title, brief: req.brief };
    track('cover', () => coverFlow(deps(client), where, job));
  };

  bolt.event('app_mention', async ({ event, client, body }) => {
    if (!firstTime(body.event_id)) return;
    answer(client, { channel: event.channel, thread_ts: event.thread_ts ?? event.ts, user: event.user }, parseMessage(event.text));
  });

  bolt.message(async ({ message, client, body }) => {
    // Direct messages only (channels speak to the bot through mentions), and only people's own new messages.
    if (message.channel_type !== 'im' || message.subtype !== undefined || message.bot_id) return;
    if (!firstTime(body.event_id)) return;
    answer(client, { channel: message.channel, thread_ts: message.thread_ts ?? message.ts, user: message.user }, parseMessage(message.text ?? ''));
  });

  bolt.command(command, async ({ command: cmd, ack, client, respond }) => {
    const req = parseSlashCommand(cmd.text);
    if (req.kind === 'help') {
      await ack({ response_type: 'ephemeral', text: HELP_TEXT });
      return;
    }
    await ack();
    track('slash command', async () => {
      try {
        await coverFlow(deps(client), { channel: cmd.channel_id, user: cmd.user_id }, { title: req.title, brief: req.brief });
      } catch (e) {
        // The bot could not even post in the channel (not invited, a DM with someone else): tell the person privately.
        await respond({ response_type: 'ephemeral', text: `:warning: ${describeSlackError(e)}` });
      }
    });
  });

  bolt.action({ type: 'block_actions', action_id: new RegExp(`^(${ACTION_AGAIN}|${ACTION_STYLE})$`) }, async ({ ack, body, action, client }) => {
    await ack();
    const value = decodeButtonValue('value' in action ? action.value : undefined);
    const channel = body.channel?.id ?? body.container?.channel_id;
    if (!channel) return;
    const thread_ts: string | undefined = body.message?.thread_ts ?? body.message?.ts ?? body.container?.thread_ts ?? body.container?.message_ts;
    const where: Destination = { channel, thread_ts, user: body.user.id };
    if (!value) {
      track('stale button', () => client.chat.postMessage({ channel, text: ':warning: That button is from an older version of the bot; ask me again for a new cover.', ...(thread_ts ? { thread_ts } : {}) }));
      return;
    }
    const style = action.action_id === ACTION_STYLE ? anotherStyle(app.services.renderer.backgroundStyles, value.u ?? value.s, random) : value.s;
    const job: CoverJob = { title: value.t, brief: value.b ?? value.t, ...(style ? { style } : {}) };
    track('again', () => coverFlow(deps(client), where, job));
  });

  bolt.action({ type: 'block_actions', action_id: ACTION_RATE_RE }, async ({ ack, body, action, client }) => {
    await ack();
    const value = decodeButtonValue('value' in action ? action.value : undefined);
    const channel = body.channel?.id ?? body.container?.channel_id;
    if (!channel || !value?.r) return;
    const thread_ts: string | undefined = body.message?.thread_ts ?? body.message?.ts;
    const rating = value.r;
    track('rating', () => rateFlow(deps(client), { channel, thread_ts, user: body.user.id }, value.c, rating));
  });

  bolt.error(async (error) => {
    logger.error('slack: listener error', { code: error.code, error: error.message });
  });

  const idle = async () => {
    while (inflight.size > 0) await Promise.allSettled([...inflight]);
  };

  let started = false;
  return {
    bolt,
    mode,
    async start() {
      try {
        await bolt.init();
      } catch (e) {
        const code = slackErrorCode(e);
        if (code) {
          throw new LoraloopError('NOT_CONFIGURED', `Slack refused SLACK_BOT_TOKEN (${code}).`, {
            hint: 'Copy the Bot User OAuth Token (xoxb-...) from the Slack app page, OAuth & Permissions, after installing the app to the workspace.',
            cause: e,
          });
        }
        throw new LoraloopError('UPSTREAM_UNREACHABLE', `Could not reach the Slack Web API${apiUrl ? ` at SLACK_API_URL (${apiUrl})` : ''}.`, {
          hint: 'Check the network (or SLACK_API_URL), then start again.',
          cause: e,
        });
      }
      // Fonts and satori load once per process (~0.3 s); pay it now rather than on the first person's cover.
      await app.services.renderer.warmup().catch((e: unknown) => logger.warn('slack: renderer warm-up failed', { error: e instanceof Error ? e.message : String(e) }));
      if (mode === 'socket') {
        await bolt.start();
        started = true;
        logger.info('slack bot connected over Socket Mode');
        return { mode };
      }
      const server = (await bolt.start({ port, host })) as Server;
      started = true;
      const bound = (server.address() as AddressInfo).port;
      const url = `http://${host.includes(':') ? `[${host}]` : host}:${bound}/slack/events`;
      logger.info('slack bot listening', { url });
      return { mode, url, port: bound };
    },
    async stop() {
      if (started) {
        started = false;
        await bolt.stop();
      }
      await idle();
    },
    idle,
  };
}

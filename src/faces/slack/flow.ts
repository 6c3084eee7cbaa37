/**
 * The two things the bot does after it has acknowledged Slack: make a cover and post it in a thread
 * (with progress and buttons), and store a rating. Both report every failure in Slack itself.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { webApi } from '@slack/bolt';
import type { App } from '../../app.js';
import type { Logger } from '../../core/logger.js';
import { coverActionBlocks, escapeSlack, summaryLine } from './blocks.js';
import { runCoverJob, type CoverJob } from './cover-runner.js';
import { postProgress } from './progress.js';
import { coverFailureText, describeSlackError, postFailureText, progressText } from './wording.js';

/** Where a cover goes. */
export interface Destination {
  channel: string;
  /** The thread to answer in; omitted for a slash command, whose progress message starts the thread. */
  thread_ts?: string | undefined;
  /** Who asked (for wording only). */
  user?: string | undefined;
}

export interface FlowDeps {
  app: App;
  client: webApi.WebClient;
  logger: Logger;
  /** Queues the expensive part so a burst of requests does not start many renders at once. */
  schedule: <T>(work: () => Promise<T>) => Promise<T>;
  /** How many covers are waiting or running, for the "queued" wording. */
  busy: () => number;
  progressIntervalMs: number;
  signal: AbortSignal;
}

/** What happened, for tests and logs. */
export type FlowResult = 'posted' | 'failed' | 'unposted';

/**
 * Post "working on it", run the cover tool (editing the message as steps finish), upload the PNG into
 * the thread with the one-line reasoning, then the buttons. Throws only when even the first message
 * cannot be posted (the caller then answers another way, e.g. the slash command's response_url).
 */
export async function coverFlow(d: FlowDeps, where: Destination, job: CoverJob): Promise<FlowResult> {
  const started = Date.now();
  const ahead = d.busy();
  const first = progressText(job.title, ahead > 0 ? `(${ahead} ahead of you in the queue)` : undefined);
  const intro = where.thread_ts || !where.user ? first : `<@${where.user}> asked for a cover. ${first}`;
  const progress = await postProgress({
    client: d.client,
    channel: where.channel,
    thread_ts: where.thread_ts,
    text: intro,
    logger: d.logger,
    minIntervalMs: d.progressIntervalMs,
  });
  const thread_ts = where.thread_ts ?? progress.ts;
  const prefix = where.thread_ts || !where.user ? '' : `<@${where.user}> asked for a cover. `;

  /** The final word in the thread: edit the progress message, or post if the edit is refused. */
  const conclude = async (text: string) => {
    if (await progress.finish(text)) return;
    try {
      await d.client.chat.postMessage({ channel: progress.channel, thread_ts, text });
    } catch (e) {
      d.logger.error('slack: could not tell the thread about the outcome', { error: describeSlackError(e) });
    }
  };

  let run;
  try {
    run = await d.schedule(() =>
      runCoverJob(d.app, job, {
        logger: d.logger,
        signal: d.signal,
        onProgress: (p) => {
          const frac = p.total ? ` (${Math.round((100 * p.progress) / p.total)}%)` : '';
          progress.update(prefix + progressText(job.title, `${p.message ?? 'working'}${frac}`));
        },
      }),
    );
  } catch (e) {
    // runCoverJob turns tool failures into values; anything thrown here is a bug, but the thread still hears.
    d.logger.error('slack: cover run crashed', { error: e instanceof Error ? e.message : String(e) });
    run = { ok: false as const, code: 'INTERNAL', message: 'The cover run crashed.' };
  }
  if (!run.ok) {
    await conclude(coverFailureText(job.title, run));
    return 'failed';
  }
  const o = run.outcome;
  progress.update(prefix + progressText(job.title, 'posting the image'));
  try {
    const bytes = await readFile(o.path);
    const line = summaryLine(o);
    await d.client.files.uploadV2({
      channel_id: progress.channel,
      thread_ts,
      file: bytes,
      filename: `cover-${basename(o.cover_id)}.png`,
      title: job.title.slice(0, 250),
      alt_text: `Cover for: ${job.title}`.slice(0, 1000),
      initial_comment: line,
    });
    await d.client.chat.postMessage({
      channel: progress.channel,
      thread_ts,
      text: line,
      blocks: coverActionBlocks(o, job),
    });
  } catch (e) {
    d.logger.warn('slack: could not post the cover', { cover_id: o.cover_id, error: describeSlackError(e) });
    await conclude(postFailureText(job.title, e));
    return 'unposted';
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  await conclude(`${prefix}:white_check_mark: Cover ready for *${escapeSlack(job.title)}* (${secs} s, cover ${o.cover_id}).`);
  return 'posted';
}

/** Input for `cover_rate` built from its own schema's field names (the tool owns its input shape). */
function rateInput(app: App, coverId: string, rating: number, user: string | undefined): Record<string, unknown> | undefined {
  const tool = app.tools.get('cover_rate');
  if (!tool) return undefined;
  const keys = new Set(Object.keys(tool.input.shape as Record<string, unknown>));
  const input: Record<string, unknown> = { cover_id: coverId };
  input[keys.has('rating') ? 'rating' : keys.has('score') ? 'score' : keys.has('stars') ? 'stars' : 'rating'] = rating;
  if (keys.has('source')) input.source = 'slack';
  const who = ['rater', 'user', 'by', 'author'].find((k) => keys.has(k));
  if (who && user) input[who] = `slack:${user}`;
  return input;
}

/** Store a 1-5 rating through the `cover_rate` tool and tell the person (only them) how it went. */
export async function rateFlow(d: FlowDeps, where: Destination, coverId: string, rating: number): Promise<boolean> {
  const input = rateInput(d.app, coverId, rating, where.user);
  let text: string;
  let saved = false;
  if (!input) {
    text = `:warning: Ratings are not switched on in this loraloop yet, so your ${rating}/5 was not saved.`;
  } else {
    const result = await d.app.tools.execute('cover_rate', input, {
      services: d.app.services,
      logger: d.logger,
      signal: d.signal,
      face: 'slack',
      progress: () => {},
    });
    saved = result.success;
    text = result.success
      ? `:star: Thanks! Saved your rating: ${rating}/5. It feeds the nightly improvement run.`
      : `:warning: Sorry, I could not save your rating: ${escapeSlack(result.reasoning)}`;
  }
  try {
    if (where.user) {
      await d.client.chat.postEphemeral({ channel: where.channel, user: where.user, text, ...(where.thread_ts ? { thread_ts: where.thread_ts } : {}) });
    } else {
      await d.client.chat.postMessage({ channel: where.channel, text, ...(where.thread_ts ? { thread_ts: where.thread_ts } : {}) });
    }
  } catch (e) {
    d.logger.warn('slack: could not confirm a rating', { error: describeSlackError(e) });
  }
  return saved;
}

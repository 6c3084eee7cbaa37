/**
 * The two things the bot does after it has acknowledged Slack: make a cover and post it in a thread
 * (with progress and buttons), and store a rating. Both report every failure in Slack itself.
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { webApi } from '@slack/bolt';
import { z } from 'zod';
import type { App } from '../../app.js';
import type { Logger } from '../../core/logger.js';
import { readStoredBlob } from '../../store/stored-blob.js';
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
          // The agent reports covers made out of its attempt budget; a one-step tool needs no count.
          const frac = p.total && p.total > 1 ? ` (${p.progress}/${p.total})` : '';
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
    // By hash: the cover may have been made by a worker on another host (its path is that host's).
    const cover = await d.app.services.store.covers.get(o.cover_id);
    const bytes = cover ? await readStoredBlob(d.app.services.store.blobs, { sha256: cover.blob_sha256, path: cover.blob_path }) : await readFile(o.path);
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

const rateOutput = z.looseObject({ lora: z.string().nullable(), set: z.enum(['positive', 'negative', 'none']), mean_stars: z.number(), raters: z.number() });

/** The thank-you line: the stars, and what the rating did to the LoRA's training sets. */
function ratedText(stars: number, data: unknown): string {
  const out = rateOutput.safeParse(data);
  const base = `:star: Thanks! Saved your rating: ${stars}/5.`;
  if (!out.success) return base;
  const { lora, set, mean_stars, raters } = out.data;
  const mean = raters > 1 ? ` The cover's mean is ${mean_stars} from ${raters} raters.` : '';
  const effect = lora && set !== 'none' ? ` It is in ${escapeSlack(lora)}'s ${set} training set now; the nightly run learns from it.` : '';
  return base + mean + effect;
}

/** Store a 1-5 rating through the `cover_rate` tool (the ratings store) and tell the person, privately, how it went. */
export async function rateFlow(d: FlowDeps, where: Destination, coverId: string, stars: number): Promise<boolean> {
  let text: string;
  let saved = false;
  if (!d.app.tools.get('cover_rate')) {
    text = `:warning: Ratings are not switched on in this loraloop, so your ${stars}/5 was not saved.`;
  } else {
    const input = { cover_id: coverId, stars, ...(where.user ? { rater: `slack:${where.user}` } : {}) };
    const result = await d.app.tools.execute('cover_rate', input, d.app.context({ face: 'slack', logger: d.logger, signal: d.signal }));
    saved = result.success;
    text = result.success ? ratedText(stars, result.data) : `:warning: Sorry, I could not save your rating: ${escapeSlack(result.reasoning)}`;
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

/**
 * The "working on it" message: posted at once, then edited (chat.update) as steps finish. Updates are
 * coalesced and spaced (Slack allows roughly one chat.update per second per message before it rate-limits),
 * so a burst of progress events becomes at most one edit per interval showing the latest step.
 */
import type { webApi } from '@slack/bolt';
import type { Logger } from '../../core/logger.js';

/** A message the bot keeps editing. */
export interface ProgressMessage {
  /** The message's ts (thread parent for slash commands). */
  ts: string;
  channel: string;
  /** Show a newer step; cheap to call often. */
  update(text: string): void;
  /** Write the final text (always sent, after any pending update); false when Slack refused the edit. */
  finish(text: string): Promise<boolean>;
}

export interface ProgressOptions {
  client: webApi.WebClient;
  channel: string;
  /** Reply in this thread; omitted to post a new top-level message. */
  thread_ts?: string | undefined;
  text: string;
  logger: Logger;
  /** Minimum time between two edits. */
  minIntervalMs: number;
}

export async function postProgress(o: ProgressOptions): Promise<ProgressMessage> {
  const posted = await o.client.chat.postMessage({
    channel: o.channel,
    text: o.text,
    ...(o.thread_ts ? { thread_ts: o.thread_ts } : {}),
  });
  const ts = posted.ts;
  const channel = posted.channel ?? o.channel;
  if (!ts) throw new Error('chat.postMessage returned no ts');
  let pending: string | undefined;
  let shown = o.text;
  let lastSent = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let finished = false;

  let inFlight: Promise<boolean> = Promise.resolve(true);
  const send = (text: string): Promise<boolean> => {
    inFlight = inFlight.then(async () => {
      if (text === shown) return true;
      try {
        await o.client.chat.update({ channel, ts, text });
        shown = text;
        return true;
      } catch (e) {
        // A lost progress edit is cosmetic; the caller decides what to do about a lost final one.
        o.logger.warn('slack progress update failed', { error: e instanceof Error ? e.message : String(e) });
        return false;
      } finally {
        lastSent = Date.now();
      }
    });
    return inFlight;
  };

  const flush = () => {
    timer = undefined;
    if (finished || pending === undefined) return;
    const text = pending;
    pending = undefined;
    void send(text);
  };

  return {
    ts,
    channel,
    update(text) {
      if (finished) return;
      pending = text;
      if (timer) return;
      const wait = Math.max(0, lastSent + o.minIntervalMs - Date.now());
      timer = setTimeout(flush, wait);
      timer.unref?.();
    },
    async finish(text) {
      finished = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      pending = undefined;
      return send(text);
    },
  };
}

/**
 * What the bot posts: the one-line reasoning under a cover, the buttons, and the button values
 * (a small JSON the button carries back, parsed with zod because it comes back over the wire).
 */
import { z } from 'zod';
import type { CoverOutcome } from './cover-runner.js';

export const ACTION_AGAIN = 'cover_again';
export const ACTION_STYLE = 'cover_style';
/** Rating buttons are `cover_rate_1` .. `cover_rate_5` (action ids must be unique inside a block). */
export const ACTION_RATE_PREFIX = 'cover_rate_';
export const ACTION_RATE_RE = /^cover_rate_[1-5]$/;

/** What a button carries back: enough to make the same brief again without any server-side state. */
export const buttonValueSchema = z.object({
  /** cover id */
  c: z.string().min(1).max(200),
  /** title */
  t: z.string().min(1).max(1000),
  /** brief, dropped when it would not fit Slack's 2000-character value limit */
  b: z.string().max(2000).optional(),
  /** forced style, if the person or "Another style" chose one */
  s: z.string().max(100).optional(),
  /** style the cover was drawn in */
  u: z.string().max(100).optional(),
  /** rating 1-5 (rating buttons only) */
  r: z.number().int().min(1).max(5).optional(),
});
export type ButtonValue = z.infer<typeof buttonValueSchema>;

/** Slack refuses button values over 2000 characters. */
const MAX_VALUE = 2000;

export function encodeButtonValue(v: ButtonValue): string {
  const full = JSON.stringify(v);
  if (full.length <= MAX_VALUE) return full;
  const { b: _dropped, ...rest } = v;
  return JSON.stringify(rest);
}

/** Parse a button value; undefined when it is not ours (or was tampered into something else). */
export function decodeButtonValue(raw: string | undefined): ButtonValue | undefined {
  if (!raw) return undefined;
  try {
    const parsed = buttonValueSchema.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A style from `styles` other than `current`, chosen with `random` (0 <= r < 1) so tests can pin it;
 * undefined when there is nothing else to choose (the tool then picks).
 */
export function anotherStyle(styles: readonly string[], current: string | null | undefined, random: () => number = Math.random): string | undefined {
  const others = styles.filter((s) => s !== current);
  if (others.length === 0) return undefined;
  return others[Math.floor(random() * others.length) % others.length];
}

function formatScore(o: CoverOutcome): string {
  const best = o.attempts !== null && o.attempts > 1 ? ` (best of ${o.attempts})` : '';
  if (o.score !== null) return `score ${o.score.toFixed(2)}${best}`;
  if (o.contrast !== null) return `score n/a (title contrast ${o.contrast.toFixed(1)}:1)`;
  return 'score n/a';
}

/** The one-line reasoning under a cover: coin, LoRA, palette, score. */
export function summaryLine(o: CoverOutcome): string {
  const primary = o.coins.filter((c) => c.primary);
  const coin = primary.length ? primary.map((c) => `${c.name} (${c.symbol})`).join(' + ') : 'no coin detected';
  const lora = o.lora ? `LoRA ${o.lora.name} v${o.lora.version} @ ${o.lora.strength}` : 'no LoRA';
  const palette = o.palette ? `${o.palette.scheme} palette ${o.palette.colors.slice(0, 4).join(' ')}` : 'default palette';
  const style = o.style ? `, ${o.style} style` : '';
  return `Coin: ${coin} · ${lora} · ${palette}${style} · ${formatScore(o)}`;
}

/** Slack block kit, typed only as far as we build it. */
export interface Block {
  type: string;
  [key: string]: unknown;
}

function button(text: string, action_id: string, value: string, style?: 'primary'): Block {
  return { type: 'button', text: { type: 'plain_text', text, emoji: true }, action_id, value, ...(style ? { style } : {}) };
}

/** The message under a cover: its summary, "Generate again", "Another style", and the 1-5 rating. */
export function coverActionBlocks(o: CoverOutcome, job: { title: string; brief: string; style?: string | undefined }): Block[] {
  const base: ButtonValue = {
    c: o.cover_id,
    t: job.title,
    ...(job.brief !== job.title ? { b: job.brief } : {}),
    ...(job.style ? { s: job.style } : {}),
    ...(o.style ? { u: o.style } : {}),
  };
  const rate = (r: number) => button(String(r), `${ACTION_RATE_PREFIX}${r}`, encodeButtonValue({ c: o.cover_id, t: job.title, r }));
  return [
    { type: 'section', text: { type: 'mrkdwn', text: summaryLine(o) } },
    {
      type: 'actions',
      block_id: 'cover_actions',
      elements: [button('Generate again', ACTION_AGAIN, encodeButtonValue(base), 'primary'), button('Another style', ACTION_STYLE, encodeButtonValue(base))],
    },
    { type: 'context', elements: [{ type: 'mrkdwn', text: 'Rate this cover (1 = poor, 5 = great):' }] },
    { type: 'actions', block_id: 'cover_rating', elements: [1, 2, 3, 4, 5].map(rate) },
  ];
}

/** Escape the three characters Slack treats as markup in text we did not write. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

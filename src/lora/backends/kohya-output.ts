/**
 * Reads kohya sd-scripts console output (TRAINERS.md §3d) as it streams: tqdm `steps:` bars redrawn with
 * `\r`, `epoch e/E` lines, `saving checkpoint: <path>`, `removing old checkpoint: <path>`, `model saved.`,
 * and the start-of-run summary. Output is split on `[\r\n]` with ANSI codes stripped, so a redrawn bar is
 * one line per redraw. The bar that is still being drawn (no terminator yet) is parsed too, so a `nan`
 * loss is seen the moment it is printed, not at the next redraw.
 */
import stripAnsi from 'strip-ansi';

/** One thing the trainer told us. */
export type KohyaEvent =
  | {
      type: 'steps';
      step: number;
      total: number;
      /** Seconds tqdm says are left, when it knows (first redraws print `?`). */
      remaining_seconds: number | null;
      elapsed_seconds: number | null;
      /** `avr_loss` from the postfix: NaN for `nan`, ±Infinity for `inf`, null when absent. */
      loss: number | null;
      /** Every `key=value` of the postfix, as printed. */
      postfix: Record<string, string>;
    }
  | { type: 'epoch'; epoch: number; total: number }
  | { type: 'checkpoint_saved'; path: string }
  | { type: 'checkpoint_removed'; path: string }
  | { type: 'model_saved' }
  | { type: 'summary'; key: 'num_train_images' | 'num_batches_per_epoch' | 'num_epochs' | 'total_steps'; value: number }
  | { type: 'line'; text: string };

// TRAINERS.md §3d, with the rate allowed to be `?` on the first redraw.
const STEPS = /^steps:\s+(\d+)%\|[^|]*\|\s*(\d+)\/(\d+)\s+\[([^<]+)<([^,]+),\s*([\d.?]+)\s*(it\/s|s\/it)(?:,\s*(.*))?\]/;
const EPOCH = /^epoch (\d+)\/(\d+)\s*$/;
const SAVED = /saving checkpoint:\s*(.+?)\s*$/;
const REMOVED = /removing old checkpoint:\s*(.+?)\s*$/;
const MODEL_SAVED = /^model saved\.$/;
/**
 * sd-scripts logs through rich: `2026-12-04 12:46:07 INFO     model saved.      train_network.py:1729`, a time
 * column (blank when the second repeats), the level, the message padded to the terminal width, then the
 * source file and line. Seen on the real program (tests/fixtures/real-upstream): the message has to be cut
 * out of those columns before it is matched, or `model saved.` is never recognised.
 */
const RICH_HEAD = /^(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+)?(?:DEBUG|INFO|WARNING|ERROR|CRITICAL)\s+/;
const RICH_TAIL = /\s{2,}[\w.-]+\.py:\d+$/;
/** A rich log record starts here (used to split a bar from a log line printed right after it without a newline). */
const RICH_START = /(?:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+)?(?:DEBUG|INFO|WARNING|ERROR|CRITICAL) {2,}/;
const SUMMARY: ReadonlyArray<[RegExp, Extract<KohyaEvent, { type: 'summary' }>['key']]> = [
  [/^num train images \* repeats[^:]*:\s*(\d+)/, 'num_train_images'],
  [/^num batches per epoch[^:]*:\s*(\d+)/, 'num_batches_per_epoch'],
  [/^num epochs[^:]*:\s*(\d+)/, 'num_epochs'],
  [/^total optimization steps[^:]*:\s*(\d+)/, 'total_steps'],
];

/** `1:06:54`, `00:50` or `?` -> seconds (null when unknown). */
export function parseClock(text: string): number | null {
  const t = text.trim();
  if (!/^\d+(:\d+){0,2}$/.test(t)) return null;
  return t.split(':').reduce((acc, part) => acc * 60 + Number(part), 0);
}

/** A loss value as printed: `0.123`, `1.2e-01`, `nan`, `inf`, `-inf`. */
export function parseLoss(text: string | undefined): number | null {
  if (text === undefined) return null;
  const v = text.trim().toLowerCase();
  if (v === 'nan' || v === '-nan') return Number.NaN;
  if (v === 'inf' || v === '+inf' || v === 'infinity') return Number.POSITIVE_INFINITY;
  if (v === '-inf' || v === '-infinity') return Number.NEGATIVE_INFINITY;
  const n = Number(v);
  return v !== '' && !Number.isNaN(n) ? n : null;
}

/** nan or ±inf: the run has diverged and every later step is wasted (TRAINERS.md §2 item 12). */
export function isBadLoss(loss: number | null): boolean {
  return loss !== null && !Number.isFinite(loss);
}

function parsePostfix(text: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const m of text.matchAll(/([^=,]+)=([^,]*)/g)) {
    const k = m[1]?.trim();
    if (k) out[k] = (m[2] ?? '').trim();
  }
  return out;
}

/** The message of a rich log record without its time, level and source columns (other lines unchanged). */
export function richMessage(line: string): string {
  return RICH_HEAD.test(line) ? line.replace(RICH_HEAD, '').replace(RICH_TAIL, '').trim() : line.replace(RICH_TAIL, '').trim();
}

/**
 * Parse one complete line (already split on `\r`/`\n`). A tqdm bar and a log record can share a line: tqdm
 * does not end the bar before rich prints (`...avr_loss=1.36]2026-12-04 12:46:04 WARNING ...` in the real
 * output), so whatever follows a bar is parsed as a line of its own.
 */
export function parseKohyaLineAll(raw: string): KohyaEvent[] {
  const line = stripAnsi(raw).trim();
  if (line === '') return [];
  const s = STEPS.exec(line);
  if (s) {
    const rest = line.slice(s[0].length);
    const after = RICH_START.exec(rest);
    const first = parseKohyaLine(line.slice(0, s[0].length));
    return [...(first ? [first] : []), ...(after ? parseKohyaLineAll(rest.slice(after.index)) : [])];
  }
  const one = parseKohyaLine(line);
  return one ? [one] : [];
}

/** Parse one line holding at most one thing (already split and stripped). */
export function parseKohyaLine(raw: string): KohyaEvent | undefined {
  const full = stripAnsi(raw).trim();
  if (full === '') return undefined;
  const s = STEPS.exec(full);
  const line = s ? full : richMessage(full);
  if (s) {
    const postfix = parsePostfix(s[8]);
    return {
      type: 'steps',
      step: Number(s[2]),
      total: Number(s[3]),
      elapsed_seconds: parseClock(s[4] ?? ''),
      remaining_seconds: parseClock(s[5] ?? ''),
      loss: parseLoss(postfix['avr_loss']),
      postfix,
    };
  }
  const e = EPOCH.exec(line);
  if (e) return { type: 'epoch', epoch: Number(e[1]), total: Number(e[2]) };
  const saved = SAVED.exec(line);
  if (saved?.[1]) return { type: 'checkpoint_saved', path: saved[1] };
  const removed = REMOVED.exec(line);
  if (removed?.[1]) return { type: 'checkpoint_removed', path: removed[1] };
  if (MODEL_SAVED.test(line)) return { type: 'model_saved' };
  for (const [re, key] of SUMMARY) {
    const m = re.exec(line);
    if (m) return { type: 'summary', key, value: Number(m[1]) };
  }
  return { type: 'line', text: full };
}

/** A streaming parser: feed chunks as they arrive (any split), get events. */
export interface KohyaOutputParser {
  push(chunk: string): KohyaEvent[];
  /** Flush what is left at end of stream. */
  end(): KohyaEvent[];
}

export function createKohyaOutputParser(): KohyaOutputParser {
  let pending = '';
  // The unterminated tail we already reported as a bar, so it is not reported twice.
  let reportedTail = '';
  const parseLines = (lines: string[]): KohyaEvent[] => {
    const out: KohyaEvent[] = [];
    for (const l of lines) out.push(...parseKohyaLineAll(l));
    return out;
  };
  return {
    push(chunk) {
      const complete = (pending + chunk).split(/[\r\n]/);
      pending = complete.pop() ?? '';
      const terminated = complete.length > 0;
      // The first completed piece may be the bar we already reported while it was still the tail, alone or
      // with a log record printed right after it on the same line (then only that record is new).
      const head = complete[0];
      if (reportedTail && head !== undefined && head.startsWith(reportedTail)) {
        const rest = head.slice(reportedTail.length);
        if (rest.trim() === '') complete.shift();
        else complete[0] = rest;
      }
      // A terminator ended the reported bar: the same text drawn again later is a new redraw.
      if (terminated) reportedTail = '';
      const events = parseLines(complete);
      // A bar is complete once its closing `]` is printed, even before the next `\r` arrives.
      // (Padding printed after a reported bar is not a new bar.)
      if (pending.trimEnd() !== reportedTail.trimEnd() && /\]\s*$/.test(pending)) {
        const ev = parseKohyaLine(pending);
        if (ev?.type === 'steps') {
          events.push(ev);
          reportedTail = pending;
        }
      }
      return events;
    },
    end() {
      const tail = pending;
      pending = '';
      const fresh = reportedTail && tail.startsWith(reportedTail) ? tail.slice(reportedTail.length) : tail;
      reportedTail = '';
      return parseLines([fresh]);
    },
  };
}

/**
 * Reads kohya sd-scripts console output (TRAINERS.md §3d) as it streams: tqdm `steps:` bars redrawn with
 * `\r`, `epoch e/E` lines, `saving checkpoint: <path>`, `removing old checkpoint: <path>`, `model saved.`,
 * and the start-of-run summary. Output is split on `[\r\n]` with ANSI codes stripped, so a redrawn bar is
 * one line per redraw. The bar that is still being drawn (no terminator yet) is parsed too, so a `nan`
 * loss is seen the moment it is printed, not at the next redraw.
 */

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
// eslint-disable-next-line no-control-regex -- stripping terminal escape codes is the point
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[=>]/g;
const EPOCH = /^epoch (\d+)\/(\d+)\s*$/;
const SAVED = /saving checkpoint:\s*(.+?)\s*$/;
const REMOVED = /removing old checkpoint:\s*(.+?)\s*$/;
const MODEL_SAVED = /(^|\s)model saved\.\s*$/;
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

/** Parse one complete line (already split and stripped). */
export function parseKohyaLine(raw: string): KohyaEvent | undefined {
  const line = raw.replace(ANSI, '').trim();
  if (line === '') return undefined;
  const s = STEPS.exec(line);
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
  return { type: 'line', text: line };
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
    for (const l of lines) {
      const ev = parseKohyaLine(l);
      if (ev) out.push(ev);
    }
    return out;
  };
  return {
    push(chunk) {
      const parts = (pending + chunk).split(/[\r\n]/);
      pending = parts.pop() ?? '';
      const complete = parts;
      // The first completed piece may be the bar we already reported while it was still the tail.
      if (reportedTail && complete.length && complete[0] === reportedTail) complete.shift();
      if (complete.length) reportedTail = '';
      const events = parseLines(complete);
      // A bar is complete once its closing `]` is printed, even before the next `\r` arrives.
      if (pending !== reportedTail && /\]\s*$/.test(pending)) {
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
      if (tail === reportedTail) return [];
      reportedTail = '';
      return parseLines([tail]);
    },
  };
}

/**
 * Caption rules, in one place for intake, captioning and export.
 *
 * - A caption a user gives is 10-500 characters; without one the image is "pending" (to be captioned later,
 *   e.g. by caption_write).
 * - Every caption that goes to a trainer starts with the trigger word. Replicate's autocaption prefix lands
 *   in only 50-75% of captions (TRAINERS.md §2 item 1), and kohya's `keep_tokens = 1` keeps the FIRST
 *   comma-separated token in place while shuffling the rest, so the trigger must be that first token.
 */
import { LoraloopError } from '../../core/errors.js';

export const CAPTION_MIN_CHARS = 10;
export const CAPTION_MAX_CHARS = 500;

/** The outcome of checking a caption a user supplied. */
export interface CaptionCheck {
  caption: string | null;
  status: 'ok' | 'pending';
}

/** Collapse whitespace (a caption file is one line for kohya) and trim. */
export function normalizeCaption(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * Check a user-supplied caption: undefined or empty -> pending (to be captioned later); otherwise it must
 * be 10-500 characters after whitespace is collapsed, else INVALID_INPUT naming the length.
 */
export function checkCaption(raw: string | undefined | null): CaptionCheck {
  if (raw === undefined || raw === null) return { caption: null, status: 'pending' };
  const caption = normalizeCaption(raw);
  if (caption === '') return { caption: null, status: 'pending' };
  if (caption.length < CAPTION_MIN_CHARS || caption.length > CAPTION_MAX_CHARS) {
    throw new LoraloopError(
      'INVALID_INPUT',
      `The caption is ${caption.length} characters; captions must be ${CAPTION_MIN_CHARS}-${CAPTION_MAX_CHARS} characters.`,
      {
        hint:
          caption.length < CAPTION_MIN_CHARS
            ? 'Describe the image in a short sentence, or leave the caption out to caption it later with caption_write.'
            : 'Shorten it to the essentials (subject, style, composition).',
      },
    );
  }
  return { caption, status: 'ok' };
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The caption as a trainer must see it: `[trigger]` placeholders (ai-toolkit's convention) replaced, and the
 * trigger word as the first token. A caption that already starts with the trigger word (as a whole word,
 * any case) is kept as it is; any other caption becomes `"<trigger>, <caption>"`, so `keep_tokens = 1`
 * pins exactly the trigger. The rest of the caption is never rewritten: a mention later in the sentence
 * ("a photo of TOK on a desk") stays where the captioner put it.
 */
export function captionForTrainer(caption: string | null | undefined, triggerWord: string): string {
  const trigger = normalizeCaption(triggerWord);
  let text = normalizeCaption((caption ?? '').replace(/\[trigger\]/gi, trigger));
  if (trigger === '') return text;
  if (text === '') return trigger;
  const startsWith = new RegExp(`^${escapeRegExp(trigger)}(?![\\p{L}\\p{N}_])`, 'iu');
  if (startsWith.test(text)) {
    // Keep the user's wording but make sure the first token is written exactly as the trigger is.
    return trigger + text.slice(trigger.length);
  }
  text = text.replace(/^[,;\s]+/, '');
  return `${trigger}, ${text}`;
}

/** The stand-in caption for an image still pending: the trigger word and its tags, nothing invented. */
export function minimalCaption(triggerWord: string, tags: string[]): string {
  const t = normalizeCaption(triggerWord);
  const rest = tags.map(normalizeCaption).filter((x) => x !== '' && x.toLowerCase() !== t.toLowerCase());
  return [t, ...rest].join(', ');
}

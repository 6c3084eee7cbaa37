/**
 * Every caption, whoever wrote it (user, local captioner, vision model, rebalance variation), passes through
 * here before it is stored: whitespace collapsed, filler openings removed, the vocabulary applied, the trigger
 * word put first (captionForTrainer: kohya's keep_tokens = 1 pins exactly the first token), and the length
 * kept within 500 characters by dropping whole trailing phrases.
 */
import { CAPTION_MAX_CHARS, captionForTrainer, normalizeCaption } from './rules.js';
import { applyVocabulary, type Vocabulary } from './vocabulary.js';

/** A finished caption and what was changed to get there. */
export interface FinalCaption {
  caption: string;
  /** Vocabulary replacements made. */
  replaced: number;
}

const FILLER_START = /^(an?\s+)?(image|picture|photo|photograph|illustration|render)\s+(of|showing|shows|depicting)\s+/i;

/** Cut to `max` characters at the last phrase boundary (comma), never mid-word. */
function clamp(text: string, max: number): string {
  if (text.length <= max) return text;
  const cut = text.slice(0, max);
  const comma = cut.lastIndexOf(',');
  if (comma > max / 2) return cut.slice(0, comma).trim();
  const space = cut.lastIndexOf(' ');
  return (space > 0 ? cut.slice(0, space) : cut).replace(/[,;\s]+$/, '');
}

/** Make a caption ready for training (see module comment). */
export function finalizeCaption(raw: string, triggerWord: string, vocab: Vocabulary): FinalCaption {
  let text = normalizeCaption(raw).replace(/^["'`]+|["'`]+$/g, '');
  // Take the trigger off the front while cleaning, so "TOK, image of ..." is cleaned too; it goes back on below.
  const trig = normalizeCaption(triggerWord);
  if (trig && text.toLowerCase().startsWith(trig.toLowerCase())) {
    const rest = text.slice(trig.length);
    if (rest === '' || /^[\s,;:]/.test(rest)) text = rest.replace(/^[\s,;:]+/, '');
  }
  text = text.replace(FILLER_START, '').replace(/[.\s]+$/, '');
  const { text: vocabText, replaced } = applyVocabulary(text, vocab);
  const withTrigger = captionForTrainer(vocabText, triggerWord);
  return { caption: clamp(withTrigger, CAPTION_MAX_CHARS), replaced };
}

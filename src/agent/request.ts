/**
 * Reading "make a Solana cover: <title>" into a title and a coin.
 *
 * Where the title is: in quotes ("...", “...”) anywhere, else after the first colon, else the whole text
 * when it does not read like an instruction ("Solana ETF inflows hit $1B" is a title already). The part
 * before the title is the instruction, where a coin may be named ("a Solana cover").
 * Without a title: a named coin makes a default headline (the coin's name) and the reasoning says so;
 * no coin and no title is a failure that says how to ask.
 */
import type { CoinDetector } from '../cover/coins/detect.js';
import { LoraloopError } from '../core/errors.js';

export interface ParsedRequest {
  title: string;
  subtitle?: string | undefined;
  /** The coin the request names (in the instruction, or in the title), primary first. */
  coin: { symbol: string; name: string } | null;
  /** Decisions taken while reading the request, for the trail. */
  notes: string[];
}

const INSTRUCTION = /^\s*(please\s+)?(make|create|generate|draw|design|render|do|give|build|i\s+need|we\s+need|need)\b.*\bcover\b/i;
const QUOTED = /["“”«]([^"“”«»]{2,})["“”»]/;

/** Parse a free-text request, or take an explicit title (which wins). */
export function parseMakeRequest(s: { coins: { detector: CoinDetector } }, input: { request?: string | undefined; title?: string | undefined; subtitle?: string | undefined }): ParsedRequest {
  const notes: string[] = [];
  const detect = (text: string) => s.coins.detector.detect(text).find((c) => c.primary) ?? null;
  if (input.title?.trim()) {
    const title = input.title.trim();
    const named = input.request ? detect(instructionOf(input.request)) : null;
    const coin = named ?? detect(`${title} ${input.subtitle ?? ''}`);
    return { title, subtitle: input.subtitle, coin: coin ? { symbol: coin.symbol, name: coin.name } : null, notes };
  }
  const text = (input.request ?? '').trim();
  if (!text) {
    throw new LoraloopError('INVALID_INPUT', 'Give a request ("make a Solana cover: <headline>") or a title.', {
      hint: 'For example: {"request": "make a Solana cover: Solana ETF inflows hit $1B"}.',
    });
  }
  let title = '';
  let instruction = text;
  const q = QUOTED.exec(text);
  const colon = text.indexOf(':');
  if (q) {
    title = q[1]!.trim();
    instruction = text.replace(q[0], ' ');
    notes.push(`Read the headline from the quotes: "${title}".`);
  } else if (colon >= 0 && INSTRUCTION.test(text.slice(0, colon))) {
    title = text.slice(colon + 1).trim();
    instruction = text.slice(0, colon);
    if (title) notes.push(`Read the headline after the colon: "${title}".`);
  } else if (!INSTRUCTION.test(text)) {
    title = text;
    instruction = '';
    notes.push('The request reads as a headline, so it is the title.');
  }
  const named = instruction ? detect(instruction) : null;
  if (!title) {
    if (!named) {
      throw new LoraloopError('INVALID_INPUT', `"${text}" names neither a headline nor a coin, so there is nothing to put on the cover.`, {
        hint: 'Add the headline after a colon or in quotes, e.g. "make a Solana cover: Solana ETF inflows hit $1B".',
      });
    }
    title = named.name;
    notes.push(`No headline was given, so the cover uses "${title}" as its title; pass the article headline after a colon for a real cover.`);
  }
  const coin = named ?? detect(title);
  if (named) notes.push(`The request names ${named.name} (${named.symbol}).`);
  return { title, coin: coin ? { symbol: coin.symbol, name: coin.name } : null, notes };
}

/** The part of a request before its headline. */
function instructionOf(request: string): string {
  const q = QUOTED.exec(request);
  if (q) return request.replace(q[0], ' ');
  const colon = request.indexOf(':');
  return colon >= 0 ? request.slice(0, colon) : INSTRUCTION.test(request) ? request : '';
}

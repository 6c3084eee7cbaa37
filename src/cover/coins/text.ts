/**
 * Headline text handling for coin detection: clean-up (HTML entities, odd spaces), tokens with the
 * facts the rules need (sigil, position, sentence start), hashtag splitting and the casing style.
 * Everything here is allocation-light because it runs once per headline at 20k+ headlines/s.
 */

/** A word of the headline. */
export interface Token {
  /** The word as written, without its sigil ("ETH" for "$ETH"). */
  text: string;
  /** `text` in lower case: the key into the phrase index. */
  lower: string;
  /** Offsets into the normalised text, of the word itself (sigil excluded). */
  start: number;
  end: number;
  /** "$" cashtag, "#" hashtag, or "" for a plain word. */
  sigil: '' | '$' | '#';
  /** First word of the title or of a sentence/clause (after ". : ? ! — |" or a line break). */
  sentenceStart: boolean;
  /** A piece of a split hashtag ("#ETCisComing" gives "ETC", "is", "Coming"). */
  hashPart: boolean;
}

/** How the headline is written; common-word names need more proof in Title Case. */
export interface Casing {
  /** Most content words are capitalised ("Bitcoin Hits New High"), so a capital letter proves nothing. */
  titleCase: boolean;
  /** Shouted headline: upper-case tickers prove nothing either. */
  allCaps: boolean;
}

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
  rsquo: '’',
  lsquo: '‘',
  rdquo: '”',
  ldquo: '“',
  ndash: '–',
  mdash: '—',
  hellip: '…',
  euro: '€',
};

const ENTITY_RE = /&(#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});/g;
// Non-breaking, thin and other exotic spaces become plain spaces; zero-width characters vanish.
const ODD_SPACE_RE = /[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000\t]/g;
const ZERO_WIDTH_RE = /[\u200b-\u200d\u2060\ufeff\u00ad]/g;

/** Decode HTML entities (twice, for "&amp;amp;"), normalise spaces; line breaks are kept as "\n" (they end sentences). */
export function normalizeHeadline(input: string): string {
  let text = input;
  for (let pass = 0; pass < 2 && text.includes('&'); pass++) {
    text = text.replace(ENTITY_RE, (whole, body: string) => {
      if (body.startsWith('#')) {
        const code = body[1] === 'x' || body[1] === 'X' ? parseInt(body.slice(2), 16) : parseInt(body.slice(1), 10);
        return Number.isFinite(code) && code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : whole;
      }
      return NAMED_ENTITIES[body.toLowerCase()] ?? whole;
    });
  }
  return text.replace(ZERO_WIDTH_RE, '').replace(ODD_SPACE_RE, ' ').replace(/\r\n?/g, '\n');
}

// A word: letters/digits with inner dots ("Crypto.com", "Pump.fun"), or a number with its suffix ("3.75B", "1inch").
const TOKEN_RE = /([#$@]?)(\p{L}[\p{L}\p{M}\p{N}]*(?:\.(?=[\p{L}\p{N}])[\p{L}\p{M}\p{N}]+)*|\p{N}+(?:[.,](?=\p{N})\p{N}+)*[\p{L}\p{N}]*)/gu;
const DIGIT_START_RE = /^\p{N}/u;
const HASH_PART_RE = /\p{Lu}+|[\p{Ll}\p{M}]+|\p{N}+/gu;
const SENTENCE_END = new Set(['.', '!', '?', ':', ';', '—', '–', '|', '\n', '•']);
const OPEN_QUOTES = new Set(['"', '“', '‘', "'", '(', '[', '«', ' ']);

function isSentenceStart(text: string, tokenStart: number): boolean {
  let i = tokenStart - 1;
  while (i >= 0 && OPEN_QUOTES.has(text[i] as string)) i--;
  if (i < 0) return true;
  const ch = text[i] as string;
  if (SENTENCE_END.has(ch)) return ch !== '.' || !/\b(?:Mt|St|Dr|Mr|Ms|vs|U\.S)\.$/.test(text.slice(Math.max(0, i - 4), i + 1));
  // " - " used as a dash separates clauses too.
  return ch === '-' && text[i - 1] === ' ' && text[i + 1] === ' ';
}

/**
 * Split a hashtag body into words: "EthereumClassic" -> Ethereum Classic, "ETCisComing" -> ETC is Coming
 * (an upper-case run followed by lower case keeps its last capital for the next word, unless the whole run is a
 * known ticker), "XRPArmy" -> XRP Army.
 */
export function splitHashtag(body: string, isKnownTicker: (upper: string) => boolean): Array<[string, number]> {
  const parts: Array<[string, number]> = [];
  for (const m of body.matchAll(HASH_PART_RE)) parts.push([m[0], m.index]);
  const out: Array<[string, number]> = [];
  for (let i = 0; i < parts.length; i++) {
    const [part, at] = parts[i] as [string, number];
    const next = parts[i + 1];
    const isUpper = /^\p{Lu}+$/u.test(part);
    if (isUpper && next && /^[\p{Ll}\p{M}]+$/u.test(next[0])) {
      if (part.length >= 2 && isKnownTicker(part)) {
        out.push([part, at]);
      } else {
        if (part.length > 1) out.push([part.slice(0, -1), at]);
        out.push([part.slice(-1) + next[0], at + part.length - 1]);
        i++;
      }
      continue;
    }
    out.push([part, at]);
  }
  return out;
}

/** Tokenise a normalised headline. Twitter @handles are skipped: they name accounts, not coins. */
export function tokenize(text: string, isKnownTicker: (upper: string) => boolean): Token[] {
  const tokens: Token[] = [];
  for (const m of text.matchAll(TOKEN_RE)) {
    const sigilRaw = m[1] as string;
    const word = m[2] as string;
    const start = m.index + sigilRaw.length;
    if (sigilRaw === '@') continue;
    // "$2B" and "#1" are amounts and ranks, not cashtags or hashtags.
    const sigil = sigilRaw !== '' && DIGIT_START_RE.test(word) ? '' : (sigilRaw as '' | '$' | '#');
    const sentenceStart = isSentenceStart(text, m.index);
    if (sigil === '#') {
      splitHashtag(word, isKnownTicker).forEach(([part, at], k) => {
        tokens.push({
          text: part,
          lower: part.toLowerCase(),
          start: start + at,
          end: start + at + part.length,
          // Only the first word carries the hashtag's weight: "#ThisIsTheOne" does not mark "One".
          sigil: k === 0 ? '#' : '',
          sentenceStart: false,
          hashPart: true,
        });
      });
      continue;
    }
    tokens.push({ text: word, lower: word.toLowerCase(), start, end: start + word.length, sigil, sentenceStart, hashPart: false });
  }
  return tokens;
}

// Words that stay lower case in Title Case and many sentence-case words of Portuguese and Spanish titles.
const FUNCTION_WORDS = new Set(
  (
    'the and but for nor with from into over amid after than that this per via its his her their our are was ' +
    'has had have not all any out off onto upon about are also just says now new' +
    ' das dos del las los com para por uma con que una sus ser ante sob sobre entre'
  ).split(' '),
);

/** Decide whether a headline is in Title Case (capitals prove nothing) and whether it is shouted. */
export function analyseCasing(tokens: readonly Token[]): Casing {
  let capital = 0;
  let lower = 0;
  let words = 0;
  let shouted = 0;
  for (const t of tokens) {
    if (t.sigil !== '' || t.hashPart || !/^\p{L}+$/u.test(t.text)) continue;
    words++;
    const upper = t.text === t.text.toUpperCase();
    if (upper && t.text.length >= 2) shouted++;
    if (t.sentenceStart || t.text.length < 3 || upper || FUNCTION_WORDS.has(t.lower)) continue;
    const first = t.text[0] as string;
    if (first === first.toUpperCase()) capital++;
    else lower++;
  }
  const judged = capital + lower;
  return {
    // With fewer than two content words there is no evidence either way: assume the stricter Title Case.
    titleCase: judged < 2 ? true : capital / judged >= 0.6,
    allCaps: words >= 4 && shouted / words >= 0.8,
  };
}

/** A regex source matching `word` in any letter case, without the `i` flag (which would also loosen \p{Lu}). */
export function anyCase(word: string): string {
  let out = '';
  for (const ch of word) {
    const lo = ch.toLowerCase();
    const up = ch.toUpperCase();
    if (lo !== up) out += `[${lo}${up}]`;
    else if (ch === ' ') out += '[\\s-]+';
    else out += ch.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&'); // '-' stays literal: \- is invalid with the u flag
  }
  return out;
}

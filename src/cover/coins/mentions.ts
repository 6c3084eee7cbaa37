/**
 * Find the coin mentions in one piece of text (a title or a subtitle), applying the labelling rules of
 * ../shared/eval/README.md: longest phrase wins (so "Bitcoin Cash" is not Bitcoin and "Binance Coin" is not the
 * exchange), common-word tickers and names need proof, quote currencies are not mentions, and cashtags or
 * "Name (TICKER)" pairs of coins we do not know still count.
 */
import type { CompiledCatalogue, CompiledCoin, Phrase } from './compile.js';
import { dropFormerNames, dropNamesOfNewCoins, unknownCoin, versionedTicker } from './new-coins.js';
import {
  afterBlock,
  casingOf,
  FIAT,
  inParens,
  isCapitalised,
  LIST_SEP_RE,
  mention,
  span,
  spellsInitials,
  type Doubt,
  type Mention,
  type Scan,
  type TextMentions,
} from './scan.js';
import { normalizeHeadline, tokenize, type Token } from './text.js';

export { LIST_SEP_RE, type Doubt, type Mention, type TextMentions } from './scan.js';

const PURE_NUMBER_RE = /^\p{N}+(?:[.,]\p{N}+)*$/u;

function phraseAt(scan: Scan, i: number, phrase: Phrase): boolean {
  const { tokens, text } = scan;
  for (let k = 1; k < phrase.words.length; k++) {
    const prev = tokens[i + k - 1];
    const cur = tokens[i + k];
    if (!prev || !cur || cur.lower !== phrase.words[k]) return false;
    // Words of one phrase are separated by spaces or a hyphen ("Shiba-Inu"), or nothing inside a hashtag.
    if (!/^[\s\-–.&]{0,3}$/.test(text.slice(prev.end, cur.start)) || text.slice(prev.end, cur.start).includes('\n')) return false;
  }
  return true;
}

function inPair(scan: Scan, t: Token): boolean {
  // "BTC/USDT", "ETH-USD", "SOL/USDC": the other side must be a ticker or a fiat code ("HTTP/S" and "N/A" are not pairs).
  const before = /([A-Z0-9]{2,10})\s?\/\s?$/.exec(scan.text.slice(Math.max(0, t.start - 13), t.start));
  const after = /^\s?[/-]\s?([A-Z0-9]{2,10})(?![\p{L}\p{N}])/u.exec(scan.text.slice(t.end, t.end + 13));
  const isSide = (m: RegExpExecArray | null): boolean =>
    m !== null && (FIAT.has(m[1] as string) || scan.compiled.byTicker.has(m[1] as string));
  return isSide(before) || isSide(after);
}

/** Proof that an ambiguous upper-case ticker is a ticker: "(S)", "$S", "#S", "S/USDT", "S token". */
function tickerMarked(scan: Scan, t: Token): string | undefined {
  if (t.sigil === '$') return 'cashtag';
  if (t.sigil === '#') return 'hashtag';
  if (inParens(scan, t)) return 'parenthesised ticker';
  if (inPair(scan, t)) return 'trading pair';
  if (scan.compiled.tickerNounAfter.test(scan.text.slice(t.end, t.end + 12))) return 'ticker followed by token/price';
  return undefined;
}

type Verdict = { ok: false } | { ok: true; how: string; needsList: boolean };
const NO: Verdict = { ok: false };

// "USD-M", "COIN-M", "USDT-M": the margin currency of a perpetuals market, market notation rather than a coin.
const MARGIN_NOTATION_AFTER_RE = /^-M(?![\p{L}\p{N}])/u;

function checkTicker(scan: Scan, coin: CompiledCoin, t: Token, raw: string): Verdict {
  const marked = tickerMarked(scan, t);
  if (t.sigil === '$' || t.sigil === '#') return { ok: true, how: marked ?? 'ticker', needsList: false };
  // "Department of Government Efficiency (DOGE)": an acronym of the words before it, not the coin;
  // "Bitcoin Depot (BTM)": the stock ticker of the company just named.
  if (marked === 'parenthesised ticker' && (spellsInitials(scan, t) || afterBlock(scan, t))) return NO;
  const upperForm = t.text === raw.toUpperCase() && t.text !== t.text.toLowerCase();
  if (!upperForm) {
    // "btc", "eth": only for tickers that are not words; never in a shouted headline.
    const lowerOk = coin.tickerLowercaseOk && t.text === t.lower && raw === raw.toUpperCase();
    return lowerOk ? { ok: true, how: 'lower-case ticker', needsList: false } : NO;
  }
  // "NEAR a bottom", "TON of": a common word used as a word.
  if (coin.tickerIsCommonWord && !marked && scan.compiled.tickerWordAfter.test(scan.text.slice(t.end, t.end + 10))) return NO;
  const strict = coin.tickerNeedsMarker || (coin.tickerIsCommonWord && casingOf(scan).allCaps);
  if (strict) {
    if (marked) return { ok: true, how: marked, needsList: false };
    return { ok: true, how: 'ticker in a list of coins', needsList: true };
  }
  if (coin.tickerNeedsContext && !marked) {
    const cues = coin.contextCues ?? scan.compiled.chainCues;
    if (cues.test(scan.text)) return { ok: true, how: 'ticker with crypto context', needsList: false };
    return { ok: true, how: 'ticker in a list of coins', needsList: true };
  }
  return { ok: true, how: marked ?? 'ticker', needsList: false };
}

function tickerWrittenNear(scan: Scan, coin: CompiledCoin, afterEnd: number): boolean {
  for (const t of scan.tokens) if (coin.tickers.has(t.text)) return true;
  // "Velvet (VELVET)": a parenthesised ticker right after the name, even one we do not otherwise trust.
  const m = /^\s*\(([A-Z0-9]{1,10})\)/.exec(scan.text.slice(afterEnd, afterEnd + 14));
  return m !== null && coin.tickers.has(m[1] as string);
}

function checkPhrase(scan: Scan, phrase: Phrase, first: Token, last: Token): Verdict {
  const coin = phrase.coin;
  // "$HTX" and "(HTX)" are written as tickers: the exchange of the same name does not block them.
  if (!coin) return first.sigil === '$' || inParens(scan, first) ? NO : { ok: true, how: phrase.blockLabel, needsList: false };
  if (first.sigil === '' && MARGIN_NOTATION_AFTER_RE.test(scan.text.slice(last.end, last.end + 3))) return NO;
  if (phrase.kind !== 'ticker' && first.sigil === '' && namesSomethingElse(scan, coin, last)) {
    doubt(scan, coin, first, last, 'the title uses the name for something else (an animal or a person)');
    return NO;
  }
  switch (phrase.kind) {
    case 'ticker':
      return phrase.words.length === 1 ? checkTicker(scan, coin, first, phrase.raw) : exactCase(scan, first, last);
    case 'name':
      return { ok: true, how: 'name', needsList: false };
    case 'cased':
      return capitalsMatch(scan, phrase, first) ? { ok: true, how: 'name', needsList: false } : NO;
    case 'weak':
    case 'proper': {
      if (!capitalsMatch(scan, phrase, first)) return NO;
      if (first.sigil !== '') return { ok: true, how: 'hashtag name', needsList: false };
      // A proper noun of something else ("Jupiter" the planet) proves nothing by its capital, even mid-sentence.
      const needsProof =
        phrase.kind === 'proper' || first.sentenceStart || casingOf(scan).titleCase || casingOf(scan).allCaps;
      if (!needsProof) return { ok: true, how: 'capitalised name mid-sentence', needsList: false };
      if (scan.compiled.weakContextAfter.test(scan.text.slice(last.end, last.end + 24))) {
        return { ok: true, how: 'name with crypto context', needsList: false };
      }
      if (tickerWrittenNear(scan, coin, last.end)) return { ok: true, how: 'name with its ticker in the title', needsList: false };
      if (DESCRIBED_BEFORE_RE.test(scan.text.slice(Math.max(0, first.start - 28), first.start))) {
        return { ok: true, how: 'name introduced by what it is', needsList: false };
      }
      // Position: the name opening a title about a protocol event is its subject ("Harmony Loses $100m ... Bridge Hack").
      if (phrase.kind === 'weak' || phrase.kind === 'proper') {
        if (scan.tokens[0] === first && scan.compiled.projectCues.test(scan.text.slice(last.end))) {
          return { ok: true, how: 'name opening a title about its protocol', needsList: false };
        }
      }
      return { ok: true, how: 'name in a list of coins', needsList: true };
    }
    case 'word': {
      if (!capitalsMatch(scan, phrase, first)) return NO;
      if (first.sigil !== '') return { ok: true, how: 'hashtag name', needsList: false };
      if (DESCRIBED_BEFORE_RE.test(scan.text.slice(Math.max(0, first.start - 28), first.start))) {
        return { ok: true, how: 'name introduced by what it is', needsList: false };
      }
      if (scan.compiled.strongContextAfter.test(scan.text.slice(last.end, last.end + 24))) {
        return { ok: true, how: 'name followed by a coin noun', needsList: false };
      }
      if (tickerWrittenNear(scan, coin, last.end)) return { ok: true, how: 'name with its ticker in the title', needsList: false };
      return { ok: true, how: 'name in a list of coins', needsList: true };
    }
    case 'person':
      if (!isCapitalised(first.text)) return NO;
      return scan.compiled.personNounAfter.test(scan.text.slice(last.end, last.end + 48))
        ? { ok: true, how: 'person name followed by memecoin(s)', needsList: false }
        : NO;
    case 'block':
      return NO;
  }
}

// "Bitcoin sidechain Plasma", "Ethereum layer-2 Linea", "DeFi protocol Cetus", "Solana memecoin Bonk": a capitalised
// name right after the kind of thing it is names that project, however ordinary the word.
const DESCRIBED_BEFORE_RE =
  /(?:^|[\s'’(-])(?:[sS]ide ?chain|[lL]ayer[- ]?(?:1|2|[oO]ne|[tT]wo)|L[12]|[rR]ollup|[bB]lockchain|[nN]etwork|[pP]rotocol|DEX|[mM]eme ?coin|[sS]tablecoin issuer|[lL]ending platform)\s+$/u;

// "Shiba Inu, who ...", "Pepe who": a relative pronoun after the name makes it a being, not a coin.
const BEING_AFTER_RE = /^,?\s+(?:who|whose)(?![\p{L}\p{N}])/iu;

/**
 * Reverse cues: the name is used for something else in this title, an animal or a person ("Kabosu, Shiba Inu Who
 * Helped Define the Doge Meme, Dies at 18"). The ticker written in the title or a coin noun after the name overrides.
 */
function namesSomethingElse(scan: Scan, coin: CompiledCoin, last: Token): boolean {
  const after = scan.text.slice(last.end, last.end + 24);
  const cued = BEING_AFTER_RE.test(after) || (coin.reverseCues !== undefined && coin.reverseCues.test(scan.text));
  if (!cued) return false;
  if (scan.compiled.strongContextAfter.test(after)) return false;
  for (const t of scan.tokens) if (coin.tickers.has(t.text) && t.text.length > 1) return false;
  return true;
}

function doubt(scan: Scan, coin: CompiledCoin, first: Token, last: Token, why: string): void {
  scan.doubts.push({ symbol: coin.entry.symbol, name: coin.entry.name, text: scan.text.slice(first.start, last.end), why });
}

/** Every word the catalogue capitalises is capitalised in the text too (a hashtag counts as capitalised). */
function capitalsMatch(scan: Scan, phrase: Phrase, first: Token): boolean {
  if (first.sigil !== '') return true;
  const start = scan.tokens.indexOf(first);
  for (let k = 0; k < phrase.words.length; k++) {
    const tok = scan.tokens[start + k];
    if (phrase.capitals[k] === true && (!tok || !isCapitalised(tok.text))) return false;
  }
  return true;
}

/** Multi-word upper-case phrases ("BOOK OF MEME", "SPACE ID") must be written in upper case. */
function exactCase(scan: Scan, first: Token, last: Token): Verdict {
  const written = scan.text.slice(first.start, last.end);
  return written.toUpperCase() === written ? { ok: true, how: 'upper-case name', needsList: false } : NO;
}

/** "660 USDT" and "BTC/USDT" quote a price; they are not about the stablecoin. */
function isQuote(scan: Scan, m: Mention, tokenIndex: number, others: boolean): boolean {
  const t = scan.tokens[tokenIndex] as Token;
  if (!m.coin?.quoteCurrency || t.text !== t.text.toUpperCase() || t.sigil !== '') return false;
  if (/[A-Za-z0-9]\s?[/-]\s?$/.test(scan.text.slice(Math.max(0, t.start - 3), t.start))) return true;
  const prev = scan.tokens[tokenIndex - 1];
  return others && prev !== undefined && PURE_NUMBER_RE.test(prev.text) && /^\s+$/.test(scan.text.slice(prev.end, t.start));
}

/** Accept list-dependent mentions that stand next to an accepted one, repeatedly, then drop the rest. */
function resolveLists(text: string, mentions: Mention[]): Mention[] {
  let changed = true;
  while (changed) {
    changed = false;
    for (let k = 0; k < mentions.length; k++) {
      const m = mentions[k] as Mention;
      if (!m.needsList) continue;
      const prev = mentions[k - 1];
      const next = mentions[k + 1];
      const joined = (a: Mention | undefined, b: Mention | undefined): boolean =>
        a !== undefined && b !== undefined && LIST_SEP_RE.test(text.slice(a.end, b.start));
      if ((prev && !prev.needsList && joined(prev, m)) || (next && !next.needsList && joined(m, next))) {
        m.needsList = false;
        m.how = m.how.replace('in a list of coins', 'listed with other coins');
        changed = true;
      }
    }
  }
  return mentions.filter((m) => !m.needsList);
}

/** The list-dependent mentions no list accepted: common-word names the rules could not decide on. */
function unresolved(mentions: readonly Mention[]): Doubt[] {
  const out: Doubt[] = [];
  for (const m of mentions) {
    // An ambiguous ticker without a $ or parentheses ("WHY", "A") is a word: the rules are sure of that too.
    if (!m.needsList || !m.coin || m.how.includes('ticker')) continue;
    const text = m.how.replace(/^"(.*)" \(.*$/, '$1');
    // Ordinary words naming little-known coins ("Rally", "Status") are words unless proven: the rules are sure of that.
    if (m.coin.entry.word_aliases?.includes(text)) continue;
    // A coin named by a lower-case word ("why"): the word is far likelier; not worth a model call.
    if (m.coin.entry.name === m.coin.entry.name.toLowerCase()) continue;
    out.push({ symbol: m.symbol, name: m.name, text, why: 'a common-word name without crypto context' });
  }
  return out;
}

/** Every coin mention of `raw` (a title or subtitle), in reading order. */
export function findMentions(compiled: CompiledCatalogue, raw: string): TextMentions {
  const text = normalizeHeadline(raw);
  const tokens = tokenize(text, compiled.isKnownTicker);
  const scan: Scan = { text, tokens, compiled, lastBlockEnd: -1, casingCache: undefined, doubts: [] };

  const found: Array<{ m: Mention; tokenIndex: number }> = [];
  for (let i = 0; i < tokens.length; ) {
    const t = tokens[i] as Token;
    let consumed = 0;
    for (const phrase of compiled.index.get(t.lower) ?? []) {
      if (!phraseAt(scan, i, phrase)) continue;
      const last = tokens[i + phrase.words.length - 1] as Token;
      const verdict = checkPhrase(scan, phrase, t, last);
      if (!verdict.ok) continue;
      consumed = phrase.words.length;
      if (phrase.coin) {
        const e = phrase.coin.entry;
        const m = mention(phrase.coin, e.symbol, e.name, span(scan, t, last), verdict.how, scan, verdict.needsList);
        found.push({ m, tokenIndex: i });
      } else {
        scan.lastBlockEnd = last.end;
      }
      break;
    }
    if (consumed === 0) {
      const found1 = versionedTicker(scan, i) ?? unknownCoin(scan, i);
      if (found1) found.push({ m: found1, tokenIndex: i });
      consumed = 1;
    }
    i += consumed;
  }

  if (found.length === 0) return { text, mentions: [], doubts: scan.doubts };
  dropFormerNames(text, found);
  dropNamesOfNewCoins(scan, found);
  const others = (m: Mention): boolean => found.some((f) => f.m.symbol !== m.symbol && !f.m.coin?.quoteCurrency);
  const kept = found.filter((f) => !isQuote(scan, f.m, f.tokenIndex, others(f.m))).map((f) => f.m);
  if (!kept.some((m) => m.needsList)) return { text, mentions: kept, doubts: scan.doubts };
  const mentions = resolveLists(text, kept);
  return { text, mentions, doubts: [...scan.doubts, ...unresolved(kept)] };
}

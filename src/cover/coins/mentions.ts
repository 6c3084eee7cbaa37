/**
 * Find the coin mentions in one piece of text (a title or a subtitle), applying the labelling rules of
 * ../shared/eval/README.md: longest phrase wins (so "Bitcoin Cash" is not Bitcoin and "Binance Coin" is not the
 * exchange), common-word tickers and names need proof, quote currencies are not mentions, and cashtags or
 * "Name (TICKER)" pairs of coins we do not know still count.
 */
import type { CompiledCatalogue, CompiledCoin, Phrase } from './compile.js';
import { analyseCasing, normalizeHeadline, tokenize, type Casing, type Token } from './text.js';

/** One place in the text that names a coin. */
export interface Mention {
  /** The catalogue coin, or undefined for an unknown coin found by its cashtag or "(TICKER)". */
  coin: CompiledCoin | undefined;
  symbol: string;
  name: string;
  /** Character offsets in the normalised text. */
  start: number;
  end: number;
  /** Why it counts, for people reading the result. */
  how: string;
  /** Written as a possessive ("Ethereum's"). */
  possessive: boolean;
  /** Counts only if it stands in a list next to an accepted coin ("Aster, Starknet, and Zcash"). */
  needsList: boolean;
}

/** The mentions of one text plus the normalised text their offsets point into. */
export interface TextMentions {
  text: string;
  mentions: Mention[];
  /** Names the rules saw but did not count, for want of proof either way: where a second opinion may help. */
  doubts: Doubt[];
}

/** A coin name the rules left out without being sure it is not the coin. */
export interface Doubt {
  symbol: string;
  name: string;
  /** The text matched, e.g. "Harmony". */
  text: string;
  /** Why it was left out. */
  why: string;
}

// Between two list items: ", " / " and " / ", and " / " & " / "/" / " vs " (Portuguese/Spanish "e"/"y").
/** Text between two items of a list of coins. */
export const LIST_SEP_RE = /^\s*(?:,\s*(?:[aA]nd\s+|&\s*|[oO]r\s+)?|&|\/|\+|(?:[aA]nd|AND|[oO]r|vs\.?|[vV]ersus|e|y)(?=\s))\s*$/u;
const POSSESSIVE_RE = /^(?:['’]s|(?<=s)['’])(?![\p{L}\p{N}])/u;
const PURE_NUMBER_RE = /^\p{N}+(?:[.,]\p{N}+)*$/u;
const UNKNOWN_TICKER_RE = /^[A-Z][A-Z0-9]{1,9}$/;
// Unknown cashtags must be upper case: "$VINE" is a coin, "$data" and "$schema" are code.
const CASHTAG_TICKER_RE = /^[A-Z][A-Z0-9]{1,9}$/;
const FIAT = new Set(['USD', 'EUR', 'KRW', 'JPY', 'GBP', 'TRY', 'BRL', 'INR', 'AUD', 'CAD']);

interface Scan {
  text: string;
  tokens: Token[];
  compiled: CompiledCatalogue;
  /** End offset of the last exchange/company match: "Bitcoin Depot (BTM)" is its stock ticker, not Bytom. */
  lastBlockEnd: number;
  /** Computed on first use: most headlines never need it. */
  casingCache: Casing | undefined;
  /** Names left out for want of proof (see {@link Doubt}). */
  doubts: Doubt[];
}

function casingOf(scan: Scan): Casing {
  return (scan.casingCache ??= analyseCasing(scan.tokens));
}

function isCapitalised(word: string): boolean {
  const first = word[0] ?? '';
  return first !== first.toLowerCase();
}

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

function inParens(scan: Scan, t: Token): boolean {
  return scan.text[t.start - 1] === '(' && scan.text[t.end] === ')';
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

/**
 * "Securities and Exchange Commission (SEC)", "Bank of Japan (BOJ)": a parenthesised word that spells the initials of
 * the words before it is an acronym, not a ticker. A coin written out in full ("Basic Attention Token (BAT)") is
 * already a name match, so nothing is lost.
 */
function spellsInitials(scan: Scan, t: Token): boolean {
  const i = scan.tokens.indexOf(t);
  if (i <= 0 || t.text.length < 2) return false;
  const before = scan.tokens.slice(Math.max(0, i - 8), i);
  const capitalInitials = before
    .filter((w) => isCapitalised(w.text))
    .map((w) => w.text[0])
    .join('');
  const allInitials = before.map((w) => (w.text[0] ?? '').toUpperCase()).join('');
  return capitalInitials.endsWith(t.text) || allInitials.endsWith(t.text);
}

function afterBlock(scan: Scan, t: Token): boolean {
  return scan.lastBlockEnd >= 0 && /^\s*\($/.test(scan.text.slice(scan.lastBlockEnd, t.start));
}

// An unknown upper-case word followed (within two words) by a coin noun: "TER Gold-Backed Token", "ZORA tokens".
const COIN_NOUN_AFTER_RE =
  /^(?:\s+[\p{L}\p{N}][\p{L}\p{N}-]*){0,2}?\s+(?:[tT]okens?|TOKENS?|[cC]oin|[mM]eme ?coins?|[sS]tablecoin)(?![\p{L}\p{N}])/u;
const POSSESSIVE_BEFORE_RE = /(\p{Lu}[\p{L}\p{N}.]*)['’]s\s+$/u;
const NEW_TICKER_RE = /^[A-Z][A-Z0-9]{2,9}$/;

/**
 * A ticker the catalogue does not know, proven by its position rather than by a $ or parentheses: "Midnight's NIGHT"
 * (a project's own token) or "TER Gold-Backed Token". Never in a shouted title, never a known acronym or stock.
 */
function unknownByPosition(scan: Scan, t: Token): Mention | undefined {
  const { compiled } = scan;
  if (t.sigil !== '' || t.hashPart || !NEW_TICKER_RE.test(t.text) || casingOf(scan).allCaps) return undefined;
  if (compiled.acronymStoplist.has(t.text) || compiled.stockTickers.has(t.text) || FIAT.has(t.text)) return undefined;
  // A known coin's ticker that its own rules rejected ("NEAR a bottom") stays rejected.
  if (compiled.byTicker.has(t.text)) return undefined;
  const owner = POSSESSIVE_BEFORE_RE.exec(scan.text.slice(Math.max(0, t.start - 40), t.start));
  if (owner) return mention(undefined, t.text, t.text, span(scan, t, t), `ticker of ${owner[1] ?? 'a project'}, not in the catalogue`, scan);
  if (COIN_NOUN_AFTER_RE.test(scan.text.slice(t.end, t.end + 40))) {
    return mention(undefined, t.text, t.text, span(scan, t, t), 'ticker followed by "token", not in the catalogue', scan);
  }
  return undefined;
}

// "AAVEv3", "UNIv2", "KNCv2", "$CRVv2": a known ticker with a version written onto it.
const VERSIONED_RE = /^([A-Z][A-Z0-9]{1,9}?)[vV]\d{1,2}$/;

/** A known ticker with a version or product suffix names the coin ("AAVEv3" is Aave's v3, so AAVE). */
function versionedTicker(scan: Scan, i: number): Mention | undefined {
  const t = scan.tokens[i] as Token;
  const m = VERSIONED_RE.exec(t.text);
  const base = m?.[1];
  if (!base || base.length < 3) return undefined;
  const coin = scan.compiled.byTicker.get(base);
  if (!coin) return undefined;
  return mention(coin, coin.entry.symbol, coin.entry.name, span(scan, t, t), `"${base}" with a version suffix`, scan);
}

/** A cashtag or "Name (TICKER)" for a coin the catalogue does not know. */
function unknownCoin(scan: Scan, i: number): Mention | undefined {
  const t = scan.tokens[i] as Token;
  const { compiled } = scan;
  if (t.sigil === '$' && CASHTAG_TICKER_RE.test(t.text)) {
    const sym = t.text.toUpperCase();
    if (compiled.stockTickers.has(sym) || compiled.acronymStoplist.has(sym)) return undefined;
    return mention(undefined, sym, sym, span(scan, t, t), 'cashtag of a coin not in the catalogue', scan);
  }
  if (t.sigil === '' && !inParens(scan, t)) return unknownByPosition(scan, t);
  if (
    t.sigil !== '' ||
    !UNKNOWN_TICKER_RE.test(t.text) ||
    !inParens(scan, t) ||
    afterBlock(scan, t) ||
    compiled.acronymStoplist.has(t.text) ||
    compiled.stockTickers.has(t.text)
  ) {
    return undefined;
  }
  // The name: the capitalised words right before "(".
  const nameWords: Token[] = [];
  for (let k = i - 1; k >= 0 && nameWords.length < 4; k--) {
    const w = scan.tokens[k] as Token;
    const gap = scan.text.slice(w.end, (nameWords[0] ?? t).start - (nameWords.length === 0 ? 1 : 0));
    if (!/^\s*$/.test(gap) || !isCapitalised(w.text) || w.sigil !== '') break;
    nameWords.unshift(w);
  }
  if (nameWords.length === 0) return undefined;
  if (spellsInitials(scan, t)) return undefined;
  const name = nameWords.map((w) => w.text).join(' ');
  const [, end] = span(scan, t, t);
  const start = (nameWords[0] as Token).start;
  return mention(undefined, t.text, name, [start, end], 'parenthesised ticker of a coin not in the catalogue', scan);
}

/** The text span of a match: with its sigil, and with the parentheses of "(TICKER)". */
function span(scan: Scan, first: Token, last: Token): [number, number] {
  let start = first.start - (first.sigil ? 1 : 0);
  let end = last.end;
  if (scan.text[start - 1] === '(' && scan.text[end] === ')') {
    start--;
    end++;
  }
  return [start, end];
}

function mention(
  coin: CompiledCoin | undefined,
  symbol: string,
  name: string,
  [start, end]: [number, number],
  how: string,
  scan: Scan,
  needsList = false,
): Mention {
  return {
    coin,
    symbol,
    name,
    start,
    end,
    how: `"${scan.text.slice(start, end)}" (${how})`,
    possessive: POSSESSIVE_RE.test(scan.text.slice(end, end + 3)),
    needsList,
  };
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

/**
 * "Bitcoin Hyper (HYPER)", "Little Pepe (LILPEPE)": a new coin whose name contains a known one. The known coin
 * matched inside the new coin's name is part of that name, not a mention of its own. This holds whether or not the
 * catalogue knows the new coin's ticker.
 */
function dropNamesOfNewCoins(scan: Scan, found: Array<{ m: Mention; tokenIndex: number }>): void {
  for (const u of [...found]) {
    if (!u.m.how.includes('parenthesised')) continue;
    let nameStart = u.m.start;
    if (u.m.coin !== undefined) {
      // A known ticker in "(...)": its name is the run of capitalised words right before "(".
      for (let k = u.tokenIndex - 1; k >= 0; k--) {
        const w = scan.tokens[k] as Token;
        const next = scan.tokens[k + 1] as Token;
        const gap = scan.text.slice(w.end, next.start);
        if (!/^[\s(]*$/.test(gap) || !isCapitalised(w.text) || w.sigil !== '') break;
        nameStart = w.start;
      }
    }
    const nameEnd = (scan.tokens[u.tokenIndex] as Token).start - 1; // the "("
    for (let k = found.length - 1; k >= 0; k--) {
      const f = found[k] as { m: Mention };
      const inside = f.m.start >= nameStart && f.m.end <= nameEnd;
      // Only a part of a longer name: "Bitcoin" in "Bitcoin Hyper (HYPER)", not "Pepe" alone in "Pepe (PEPE)".
      const part = f.m.start > nameStart || /\p{L}/u.test(scan.text.slice(f.m.end, nameEnd));
      if (f.m !== u.m && f.m.symbol !== u.m.symbol && f.m.coin !== undefined && inside && part) found.splice(k, 1);
    }
  }
}

// "Sky (formerly MakerDAO)", "Sonic (ex-Fantom)": the old name of the coin just named is not a second coin.
const FORMERLY_RE = /\((?:formerly|previously|ex-|prev\.|once)\s*[^)]*\)/giu;

function dropFormerNames(text: string, found: Array<{ m: Mention }>): void {
  if (!text.includes('(')) return;
  for (const paren of text.matchAll(FORMERLY_RE)) {
    const start = paren.index;
    const end = start + paren[0].length;
    const before = found.filter((f) => f.m.end <= start);
    if (before.length === 0) continue;
    for (let k = found.length - 1; k >= 0; k--) {
      const f = found[k] as { m: Mention };
      if (f.m.start > start && f.m.end <= end) found.splice(k, 1);
    }
  }
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

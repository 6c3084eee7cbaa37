/**
 * Coins the catalogue does not know, and names that belong to a new coin rather than a known one: a cashtag ("$VINE"),
 * "Name (TICKER)", a project's own token by position ("Midnight's NIGHT", "TER Gold-Backed Token"), a known ticker
 * with a version suffix ("AAVEv3"), and the known coin inside a new coin's name ("Bitcoin Hyper (HYPER)").
 */
import type { Token } from './text.js';
import { afterBlock, casingOf, FIAT, inParens, isCapitalised, mention, span, spellsInitials, type Mention, type Scan } from './scan.js';

const UNKNOWN_TICKER_RE = /^[A-Z][A-Z0-9]{1,9}$/;
// Unknown cashtags must be upper case: "$VINE" is a coin, "$data" and "$schema" are code.
const CASHTAG_TICKER_RE = /^[A-Z][A-Z0-9]{1,9}$/;

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
export function versionedTicker(scan: Scan, i: number): Mention | undefined {
  const t = scan.tokens[i] as Token;
  const m = VERSIONED_RE.exec(t.text);
  const base = m?.[1];
  if (!base || base.length < 3) return undefined;
  const coin = scan.compiled.byTicker.get(base);
  if (!coin) return undefined;
  return mention(coin, coin.entry.symbol, coin.entry.name, span(scan, t, t), `"${base}" with a version suffix`, scan);
}

// "crvUSD", "frxUSD", "rsETH", "jitoSOL", "cbBTC": a lower-case prefix on a big coin's ticker or a fiat code is a
// stablecoin, liquid-staking or wrapped token of its own (rule 5: wrapped tokens keep their own ticker).
const DERIVATIVE_RE = /^[a-z]{1,6}(USD|EUR|ETH|BTC|SOL|BNB|AVAX|DOT|ATOM|NEAR|SUI|APT|TON|XRP|ADA|HYPE)$/;

function derivativeToken(scan: Scan, t: Token): Mention | undefined {
  if (t.hashPart || !DERIVATIVE_RE.test(t.text) || casingOf(scan).allCaps) return undefined;
  const sym = t.text.toUpperCase();
  const known = scan.compiled.byTicker.get(sym);
  const how = `${t.text}, a token built on ${DERIVATIVE_RE.exec(t.text)?.[1] ?? 'another asset'}`;
  return mention(known, known?.entry.symbol ?? sym, known?.entry.name ?? t.text, span(scan, t, t), how, scan);
}

/** A cashtag or "Name (TICKER)" for a coin the catalogue does not know. */
export function unknownCoin(scan: Scan, i: number): Mention | undefined {
  const t = scan.tokens[i] as Token;
  const { compiled } = scan;
  if (t.sigil === '$' && CASHTAG_TICKER_RE.test(t.text)) {
    const sym = t.text.toUpperCase();
    if (compiled.stockTickers.has(sym) || compiled.acronymStoplist.has(sym)) return undefined;
    return mention(undefined, sym, sym, span(scan, t, t), 'cashtag of a coin not in the catalogue', scan);
  }
  const derivative = derivativeToken(scan, t);
  if (derivative) return derivative;
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

/**
 * "Bitcoin Hyper (HYPER)", "Little Pepe (LILPEPE)": a new coin whose name contains a known one. The known coin
 * matched inside the new coin's name is part of that name, not a mention of its own. This holds whether or not the
 * catalogue knows the new coin's ticker.
 */
export function dropNamesOfNewCoins(scan: Scan, found: Array<{ m: Mention; tokenIndex: number }>): void {
  for (const u of [...found]) {
    // "(HYPER)", "(stETH)": whatever matched inside parentheses, written as the ticker of the name before it.
    if (!u.m.how.includes('parenthesised') && scan.text[u.m.start] !== '(') continue;
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

export function dropFormerNames(text: string, found: Array<{ m: Mention }>): void {
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

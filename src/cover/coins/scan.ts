/**
 * The shared state of one scan over a headline and the small helpers every rule uses: where a match starts and ends,
 * whether a word is capitalised or parenthesised, and how a mention is recorded. Split out of mentions.ts so the rules
 * for known coins (mentions.ts) and for coins the catalogue does not know (new-coins.ts) read apart.
 */
import type { CompiledCatalogue, CompiledCoin } from './compile.js';
import { analyseCasing, type Casing, type Token } from './text.js';

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
/** Fiat codes: the other side of a pair ("ETH-USD"), never a coin of their own. */
export const FIAT = new Set(['USD', 'EUR', 'KRW', 'JPY', 'GBP', 'TRY', 'BRL', 'INR', 'AUD', 'CAD']);

export interface Scan {
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

export function casingOf(scan: Scan): Casing {
  return (scan.casingCache ??= analyseCasing(scan.tokens));
}

export function isCapitalised(word: string): boolean {
  const first = word[0] ?? '';
  return first !== first.toLowerCase();
}

export function inParens(scan: Scan, t: Token): boolean {
  return scan.text[t.start - 1] === '(' && scan.text[t.end] === ')';
}

/**
 * "Securities and Exchange Commission (SEC)", "Bank of Japan (BOJ)": a parenthesised word that spells the initials of
 * the words before it is an acronym, not a ticker. A coin written out in full ("Basic Attention Token (BAT)") is
 * already a name match, so nothing is lost.
 */
export function spellsInitials(scan: Scan, t: Token): boolean {
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

export function afterBlock(scan: Scan, t: Token): boolean {
  return scan.lastBlockEnd >= 0 && /^\s*\($/.test(scan.text.slice(scan.lastBlockEnd, t.start));
}

/** The text span of a match: with its sigil, and with the parentheses of "(TICKER)". */
export function span(scan: Scan, first: Token, last: Token): [number, number] {
  let start = first.start - (first.sigil ? 1 : 0);
  let end = last.end;
  if (scan.text[start - 1] === '(' && scan.text[end] === ')') {
    start--;
    end++;
  }
  return [start, end];
}

export function mention(
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

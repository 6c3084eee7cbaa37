/**
 * Coin detection for routing: which coins is an article (title + optional subtitle) about, and which of them is
 * it mainly about?
 *
 * Primary rule (documented here because callers pick the LoRA from it):
 * 1. The lead is the first coin mentioned in the title, unless that mention only describes the next coin
 *    ("Ripple's RLUSD", "Solana meme coin Dogwifhat", "Ethereum Layer-2 ZKsync"): then the described coin leads.
 * 2. Coins listed together with the lead ("Bitcoin, Ether Hold Strong", "BTC, ETH, BNB, XRP ...") are primary too:
 *    a list names its members equally.
 * 3. A coin mentioned more often in the title than the lead is primary too.
 * 4. Coins found only in the subtitle are never primary, unless the title names no coin at all; then rules 1-3
 *    apply to the subtitle.
 * The result lists primary coins first, then the rest, each group in reading order.
 */
import type { CoinCatalogue } from './catalogue.js';
import { compileCatalogue, type CompiledCatalogue } from './compile.js';
import { findMentions, LIST_SEP_RE, type Doubt, type Mention, type TextMentions } from './mentions.js';

export type { Doubt } from './mentions.js';

/** A coin the article is about. */
export interface DetectedCoin {
  /** Upper-case ticker, e.g. "ETH". */
  symbol: string;
  /** The catalogue name, e.g. "Ethereum" (for a coin not in the catalogue: the name written before its ticker). */
  name: string;
  /** The article is mainly about this coin. */
  primary: boolean;
  /** The matched text and why it counts, e.g. `"Ethereum's" (name); primary: first coin in the title`. */
  evidence: string;
}

/** The coins of a headline plus the names the rules could not decide on. */
export interface CoinAnalysis {
  coins: DetectedCoin[];
  /** Empty when the rules are sure; otherwise the names a second opinion may settle (see second-opinion.ts). */
  doubts: Doubt[];
}

/** Detects coins in headlines; build one per catalogue and reuse it (the catalogue is compiled once). */
export interface CoinDetector {
  detect(title: string, subtitle?: string): DetectedCoin[];
  /** `detect` plus the doubts, for callers that can ask a second opinion. */
  analyse(title: string, subtitle?: string): CoinAnalysis;
}

interface Tally {
  symbol: string;
  name: string;
  first: number;
  count: number;
  evidence: string[];
  primaryWhy: string | undefined;
}

/** Pick the primary symbols of one text's mentions (rules 1-3 above), with the reason for each. */
function primaries(compiled: CompiledCatalogue, tm: TextMentions): Map<string, string> {
  const out = new Map<string, string>();
  const ms = tm.mentions;
  if (ms.length === 0) return out;
  let leadIdx = 0;
  let why = 'first coin in the title';
  // Rule 1: "A's B" / "A meme coin B": A only describes B.
  while (leadIdx + 1 < ms.length) {
    const a = ms[leadIdx] as Mention;
    const b = ms[leadIdx + 1] as Mention;
    if (a.symbol === b.symbol) break;
    const between = tm.text.slice(a.end, b.start);
    if (!compiled.descriptorBetween.test(between)) break;
    leadIdx++;
    why = `subject described by ${a.symbol}`;
  }
  const lead = ms[leadIdx] as Mention;
  out.set(lead.symbol, why);
  // Rule 2: the list the lead stands in.
  for (let k = leadIdx + 1; k < ms.length; k++) {
    const prev = ms[k - 1] as Mention;
    const cur = ms[k] as Mention;
    if (!LIST_SEP_RE.test(tm.text.slice(prev.end, cur.start)) && prev.symbol !== cur.symbol) break;
    if (!out.has(cur.symbol)) out.set(cur.symbol, `listed with ${lead.symbol}`);
  }
  // Rule 3: mentioned more often than the lead.
  const counts = new Map<string, number>();
  for (const m of ms) counts.set(m.symbol, (counts.get(m.symbol) ?? 0) + 1);
  const leadCount = counts.get(lead.symbol) ?? 0;
  for (const [symbol, n] of counts) if (n > leadCount && !out.has(symbol)) out.set(symbol, 'mentioned most often');
  return out;
}

function tally(into: Map<string, Tally>, tm: TextMentions, offset: number, where: string): void {
  for (const m of tm.mentions) {
    let t = into.get(m.symbol);
    if (!t) {
      t = { symbol: m.symbol, name: m.name, first: offset + m.start, count: 0, evidence: [], primaryWhy: undefined };
      into.set(m.symbol, t);
    }
    t.count++;
    if (t.evidence.length < 3) t.evidence.push(where ? `${m.how} in ${where}` : m.how);
  }
}

/** Build a detector for a catalogue. All compilation happens here, none per call. */
export function createCoinDetector(catalogue: CoinCatalogue): CoinDetector {
  const compiled = compileCatalogue(catalogue);
  const analyse = (title: string, subtitle?: string): CoinAnalysis => {
    const inTitle = findMentions(compiled, title);
    const inSub = subtitle ? findMentions(compiled, subtitle) : undefined;
    const tallies = new Map<string, Tally>();
    tally(tallies, inTitle, 0, '');
    // Subtitle positions come after every title position, so reading order holds across both.
    if (inSub) tally(tallies, inSub, inTitle.text.length + 1, 'subtitle');
    const chosen = inTitle.mentions.length > 0 ? primaries(compiled, inTitle) : inSub ? primaries(compiled, inSub) : new Map();
    for (const [symbol, why] of chosen) {
      const t = tallies.get(symbol);
      if (t) t.primaryWhy = inTitle.mentions.length > 0 ? why : why.replace('title', 'subtitle');
    }
    const coins = [...tallies.values()]
      .sort((a, b) => Number(b.primaryWhy !== undefined) - Number(a.primaryWhy !== undefined) || a.first - b.first)
      .map((t) => ({
        symbol: t.symbol,
        name: t.name,
        primary: t.primaryWhy !== undefined,
        evidence: t.evidence.join('; ') + (t.primaryWhy ? `; primary: ${t.primaryWhy}` : ''),
      }));
    // Only the title's doubts: a subtitle's stray word does not make a headline uncertain.
    const doubts = inTitle.doubts.filter((d) => !tallies.has(d.symbol));
    return { coins, doubts };
  };
  return { analyse, detect: (title, subtitle) => analyse(title, subtitle).coins };
}

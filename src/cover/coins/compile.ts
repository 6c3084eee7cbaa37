/**
 * Compile a catalogue once, at factory time, into one lookup structure: a map from a headline word
 * (lower case) to every phrase that starts with it, longest first. Detection then costs one map lookup per
 * word instead of one regex per coin. The rule regexes built from the catalogue's word lists live here too.
 */
import type { CatalogueContext, CoinCatalogue, CoinEntry } from './catalogue.js';
import { anyCase } from './text.js';

/**
 * How a phrase may match:
 * - `name`: a distinctive name, any letter case ("Bitcoin", "bitcoin").
 * - `cased`: a name that is also a word; it must be capitalised ("Ripple").
 * - `weak`: a common word ("Optimism"); capitalised, and with crypto context where capitals prove nothing.
 * - `word`: an ordinary word naming a less-known coin ("Threshold"): capitalised and with strong context only.
 * - `proper`: also the proper name of something else ("Jupiter", "Sky News"): capitalised and always with context.
 * - `person`: a person's name ("Trump"): only "<Name> memecoins" and alike.
 * - `ticker`: an upper-case form, with the coin's ticker flags (upper-case names such as "XRPL" are tickers too).
 * - `block`: an exchange, company or look-alike phrase; it matches to stop a coin matching inside it.
 */
export type PhraseKind = 'block' | 'ticker' | 'name' | 'cased' | 'weak' | 'proper' | 'word' | 'person';

/** A catalogue coin with its flags resolved for speed. */
export interface CompiledCoin {
  entry: CoinEntry;
  /** Every ticker form, upper case ("POL", "MATIC"). */
  tickers: Set<string>;
  tickerIsCommonWord: boolean;
  tickerNeedsMarker: boolean;
  tickerNeedsContext: boolean;
  tickerLowercaseOk: boolean;
  quoteCurrency: boolean;
  /** For ticker_needs_context coins with their own cue words; undefined means the catalogue's chain cues. */
  contextCues: RegExp | undefined;
  /** Words that show the coin's name means something else in this title ("dog" for Shiba Inu). */
  reverseCues: RegExp | undefined;
}

/** One matchable phrase. */
export interface Phrase {
  /** Lower-case words, compared with the headline's words. */
  words: string[];
  /** The phrase as the catalogue writes it (for evidence and case checks). */
  raw: string;
  /** Per word: the catalogue capitalises it, so a `cased`/`weak`/`proper` match must too ("The Graph", not "the graph"). */
  capitals: boolean[];
  kind: PhraseKind;
  /** The coin it means; undefined for block phrases. */
  coin: CompiledCoin | undefined;
  /** What the block phrase is, for evidence ("exchange Binance"). */
  blockLabel: string;
}

/** The compiled catalogue and rule regexes, shared by every call of one detector. */
export interface CompiledCatalogue {
  coins: CompiledCoin[];
  /** First word (lower case) -> phrases starting with it, longest and strongest first. */
  index: Map<string, Phrase[]>;
  /** Upper-case ticker -> coin, for hashtag splitting and "is the ticker in the title" checks. */
  byTicker: Map<string, CompiledCoin>;
  /** `byTicker.has`, bound once so calls do not allocate a closure. */
  isKnownTicker: (upper: string) => boolean;
  acronymStoplist: Set<string>;
  stockTickers: Set<string>;
  /** After a person's name: "( and Melania)* (two words)? memecoins". */
  personNounAfter: RegExp;
  /** After a weak alias: a possessive or a context word ("token", "price", "network"). */
  weakContextAfter: RegExp;
  /** After a word alias: a noun that only a coin takes ("token", "price", "network"), never a verb. */
  strongContextAfter: RegExp;
  /** After a common-word ticker: a word showing it is the English word ("NEAR a bottom"). */
  tickerWordAfter: RegExp;
  /** After an ambiguous ticker: "token", "coin", "price". */
  tickerNounAfter: RegExp;
  /** Anywhere in the title: chain words that let an acronym-like ticker count ("51% attack"). */
  chainCues: RegExp;
  /** Anywhere in the title: protocol-event words that make a common-word name opening the title its subject. */
  projectCues: RegExp;
  /** Text between two coin mentions that makes the first describe the second ("Solana meme coin Dogwifhat"). */
  descriptorBetween: RegExp;
}

// Nouns that only a coin takes ("Rally token", "Threshold price"). Verbs such as "hits" do not count ("Bitcoin Rally
// Hits $100K" is about a rally), nor nouns an adjective takes as well ("Decentralized Ecosystem", "Open Network").
const DEFAULT_STRONG_CONTEXT = [
  'token', 'tokens', 'coin', 'coins', 'price', 'prices', 'mainnet', 'testnet', 'airdrop', 'TVL', 'holders', 'whales',
  'price prediction', 'market cap', 'ETF', 'ETFs', 'memecoin', 'tokenomics',
];

// Protocol events: a title that opens with "Harmony" and speaks of a bridge hack is about the chain.
const DEFAULT_PROJECT_CUES = [
  'hack', 'hacked', 'hacker', 'hackers', 'exploit', 'exploited', 'exploiter', 'drained', 'bridge', 'mainnet', 'testnet',
  'airdrop', 'validators', 'blockchain', 'token', 'tokens', 'staking', 'TVL', 'DeFi', 'smart contract', 'layer-1',
  'layer-2', 'hard fork', 'dApp', 'dApps', 'on-chain', 'onchain',
];

const PHRASE_SPLIT_RE = /\p{L}[\p{L}\p{M}\p{N}]*(?:\.(?=[\p{L}\p{N}])[\p{L}\p{M}\p{N}]+)*|\p{N}+(?:[.,](?=\p{N})\p{N}+)*[\p{L}\p{N}]*/gu;
const KIND_STRENGTH: Record<PhraseKind, number> = { block: 8, ticker: 7, name: 6, cased: 5, weak: 4, proper: 3, word: 2, person: 1 };

const ONE_WORD_RE = /^\p{L}[\p{L}\p{M}\p{N}]*$/u;

function rawWords(phrase: string): string[] {
  if (ONE_WORD_RE.test(phrase)) return [phrase]; // most names and tickers: skip the general split
  return phrase.match(PHRASE_SPLIT_RE) ?? [];
}

function alternation(list: readonly string[]): string {
  // Longest first so "meme coins" wins over "meme coin".
  return [...list]
    .sort((a, b) => b.length - a.length)
    .map(anyCase)
    .join('|');
}

function buildRegexes(ctx: CatalogueContext): Pick<
  CompiledCatalogue,
  'personNounAfter' | 'weakContextAfter' | 'strongContextAfter' | 'tickerWordAfter' | 'tickerNounAfter' | 'chainCues' | 'projectCues' | 'descriptorBetween'
> {
  const end = '(?![\\p{L}\\p{N}])';
  const personNouns = ctx.coin_nouns.filter((n) => /meme|coins$|tokens$/i.test(n));
  return {
    personNounAfter: new RegExp(
      `^(?:['’]s)?(?:\\s*(?:,|&|${anyCase('and')})\\s*\\$?\\p{Lu}[\\p{L}]*)*(?:\\s+[\\p{L}]+){0,2}?\\s+(?:${alternation(personNouns)})${end}`,
      'u',
    ),
    weakContextAfter: new RegExp(`^(?:['’]s${end}|\\s*[-–]?\\s*(?:${alternation(ctx.weak_context_after)})${end})`, 'u'),
    strongContextAfter: new RegExp(
      `^\\s*[-–]?\\s*(?:${alternation(ctx.strong_context_after ?? DEFAULT_STRONG_CONTEXT)})${end}`,
      'u',
    ),
    tickerWordAfter: new RegExp(`^\\s+(?:${alternation(ctx.ticker_word_followers)})${end}`, 'u'),
    tickerNounAfter: new RegExp(`^\\s*(?:${alternation(['token', 'tokens', 'coin', 'coins', 'price', 'holders', 'airdrop'])})${end}`, 'u'),
    chainCues: cueRegex(ctx.chain_cues),
    projectCues: cueRegex(ctx.project_cues ?? DEFAULT_PROJECT_CUES),
    descriptorBetween: new RegExp(
      `^(?:['’]s\\s*$|(?:['’]s)?[\\s-]*(?:(?:${alternation(ctx.descriptor_words)})[\\s-]*){1,3}$)`,
      'u',
    ),
  };
}

function cueRegex(cues: readonly string[]): RegExp {
  return new RegExp(`(?<![\\p{L}\\p{N}])(?:${alternation(cues)})(?![\\p{L}\\p{N}])`, 'u');
}

function compileCoin(entry: CoinEntry): CompiledCoin {
  return {
    entry,
    tickers: new Set([entry.symbol, ...(entry.tickers ?? [])]),
    tickerIsCommonWord: entry.ticker_is_common_word === true,
    tickerNeedsMarker: entry.ticker_needs_marker === true,
    tickerNeedsContext: entry.ticker_needs_context === true,
    tickerLowercaseOk: entry.ticker_lowercase_ok === true,
    quoteCurrency: entry.quote_currency === true,
    contextCues: entry.context_cues && entry.context_cues.length > 0 ? cueRegex(entry.context_cues) : undefined,
    reverseCues: entry.reverse_cues && entry.reverse_cues.length > 0 ? cueRegex(entry.reverse_cues) : undefined,
  };
}

/** Build the lookup structure for a catalogue. Pure; call once per detector. */
export function compileCatalogue(catalogue: CoinCatalogue): CompiledCatalogue {
  const index = new Map<string, Phrase[]>();
  // This runs for ~6,500 names on every cold start, interpreted: plain loops, no per-name key strings or closures.
  const push = (words: string[], raw: string, capitals: boolean[], kind: PhraseKind, coin: CompiledCoin | undefined, blockLabel: string): void => {
    const first = words[0] as string;
    const list = index.get(first);
    if (list === undefined) {
      index.set(first, [{ words, raw, capitals, kind, coin, blockLabel }]);
      return;
    }
    // The same phrase of the same kind for the same coin (a name repeated among its aliases) is indexed once.
    for (const p of list) {
      if (p.coin === coin && p.kind === kind && p.blockLabel === blockLabel && p.words.join(' ') === words.join(' ')) return;
    }
    list.push({ words, raw, capitals, kind, coin, blockLabel });
  };
  const add = (raw: string, kind: PhraseKind, coin: CompiledCoin | undefined, blockLabel = ''): void => {
    const rw = rawWords(raw);
    if (rw.length === 0) return;
    const ws: string[] = [];
    const capitals: boolean[] = [];
    for (const w of rw) {
      ws.push(w.toLowerCase());
      const c = w[0] as string;
      capitals.push(c !== c.toLowerCase());
    }
    // A name written with no lower-case letter ("XRPL", "BSC", "JUST") behaves like a ticker.
    const effective: PhraseKind = kind !== 'block' && kind !== 'person' && raw === raw.toUpperCase() && !/\p{Ll}/u.test(raw) ? 'ticker' : kind;
    push(ws, raw, capitals, effective, coin, blockLabel);
    // "#EthereumClassic" and "ethereumclassic" reach us as one word: index the squashed form too.
    if (ws.length > 1) push([ws.join('')], raw, [capitals[0] === true], effective, coin, blockLabel);
  };

  const coins = catalogue.coins.map(compileCoin);
  const byTicker = new Map<string, CompiledCoin>();
  for (const coin of coins) {
    const e = coin.entry;
    for (const t of coin.tickers) {
      if (!byTicker.has(t)) byTicker.set(t, coin);
      add(t, 'ticker', coin);
    }
    // Most coins have only a name and plain aliases: build the set of special forms only when there are any
    // (this loop runs for every catalogued coin on each cold start).
    const specialLists = [e.cased_aliases, e.weak_aliases, e.context_aliases, e.word_aliases, e.person_aliases];
    const special = specialLists.some((l) => l !== undefined && l.length > 0) ? new Set(specialLists.flatMap((l) => l ?? [])) : undefined;
    if (!special?.has(e.name)) add(e.name, 'name', coin);
    for (const n of e.aliases) if (!special?.has(n)) add(n, 'name', coin);
    for (const n of e.cased_aliases ?? []) add(n, 'cased', coin);
    for (const n of e.weak_aliases ?? []) add(n, 'weak', coin);
    for (const n of e.context_aliases ?? []) add(n, 'proper', coin);
    for (const n of e.word_aliases ?? []) add(n, 'word', coin);
    for (const n of e.person_aliases ?? []) add(n, 'person', coin);
    for (const x of e.excludes ?? []) add(x, 'block', undefined, `look-alike "${x}" (not ${e.symbol})`);
  }
  for (const nc of catalogue.nonCoins) {
    for (const n of [nc.name, ...nc.aliases]) add(n, 'block', undefined, `${nc.kind} ${nc.name}, not a coin`);
  }
  for (const list of index.values()) {
    if (list.length > 1) list.sort((a, b) => b.words.length - a.words.length || KIND_STRENGTH[b.kind] - KIND_STRENGTH[a.kind]);
  }
  return {
    coins,
    index,
    byTicker,
    isKnownTicker: (upper) => byTicker.has(upper),
    acronymStoplist: new Set(catalogue.context.acronym_stoplist.map((s) => s.toUpperCase())),
    stockTickers: new Set(catalogue.context.stock_tickers.map((s) => s.toUpperCase())),
    ...buildRegexes(catalogue.context),
  };
}

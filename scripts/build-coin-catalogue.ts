/**
 * Regenerate data/coins.json, the coin catalogue the detector loads, from public lists kept in data/catalogue/:
 *
 *   npx tsx scripts/build-coin-catalogue.ts [--words /usr/share/dict/words] [--out data/coins.json]
 *
 * Inputs (see data/catalogue/SOURCES.md):
 * - curated.json: hand-tuned entries (the coins news names most, with their look-alikes and rule word lists). They win.
 * - cryptopanic_currencies.csv: the 3,498 currencies CryptoPanic tags news with, and how many news items each has.
 * - coingecko_top100.json: a late-2025 market-cap ranking.
 * - node_modules/cryptocurrency-icons/manifest.json: the icon set (which coins get a drawn logo).
 * - a word list (Debian's wamerican, /usr/share/dict/words): which names and tickers are ordinary words.
 *
 * Runtime needs none of this: the generated data/coins.json is committed. Generated coins get conservative flags
 * (a word-like name needs crypto context, a word-like or short ticker needs a $, parentheses or a pair), because a
 * coin the news rarely names must not turn ordinary headlines into coin headlines.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { catalogueChecksum, parseCoinCatalogue, type CoinEntry } from '../src/cover/coins/catalogue.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = join(root, 'data', 'catalogue');
const wordsArg = process.argv.indexOf('--words');
const wordsPath = wordsArg > 0 ? (process.argv[wordsArg + 1] ?? '') : '/usr/share/dict/words';
const outArg = process.argv.indexOf('--out');
const outPath = outArg > 0 ? (process.argv[outArg + 1] ?? '') : join(root, 'data', 'coins.json');

if (!existsSync(wordsPath)) {
  process.stderr.write(`No word list at ${wordsPath}. Install Debian's wamerican (apt-get install wamerican) or pass --words FILE.\n`);
  process.exit(2);
}

// --- word list: ordinary words (lower case entries) and proper names (capitalised entries) ---
const ordinary = new Set<string>();
const proper = new Set<string>();
for (const line of readFileSync(wordsPath, 'utf8').split('\n')) {
  const w = line.trim();
  if (!w || w.includes("'")) continue;
  if (w === w.toLowerCase()) ordinary.add(w);
  else if (/^\p{Lu}\p{Ll}+$/u.test(w)) proper.add(w.toLowerCase());
}
const isOrdinary = (w: string): boolean => ordinary.has(w.toLowerCase());
const isWordLike = (w: string): boolean => isOrdinary(w) || proper.has(w.toLowerCase());

// --- inputs ---
interface CuratedFile {
  coins: CoinEntry[];
  non_coins: Array<{ name: string; aliases: string[] }>;
  context: { acronym_stoplist: string[]; stock_tickers: string[] } & Record<string, unknown>;
  [k: string]: unknown;
}
const curated = JSON.parse(readFileSync(join(dataDir, 'curated.json'), 'utf8')) as CuratedFile;
const gecko = JSON.parse(readFileSync(join(dataDir, 'coingecko_top100.json'), 'utf8')) as {
  coins: Array<{ rank: number; symbol: string; name: string; coingecko_id: string }>;
};
const require = createRequire(import.meta.url);
const manifestPath = require.resolve('cryptocurrency-icons/manifest.json');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Array<{ symbol: string; name: string; color?: string }>;
const iconFiles = new Set(
  manifest.map((m) => m.symbol.toLowerCase()).filter((s) => existsSync(join(dirname(manifestPath), 'svg', 'color', `${s}.svg`))),
);

interface Listed {
  code: string;
  name: string;
  news: number;
}
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const cells: string[] = [];
    let cur = '';
    let quoted = false;
    for (let i = 0; i < line.length; i++) {
      const ch = line[i] as string;
      if (quoted && ch === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') {
        quoted = !quoted;
      } else if (ch === ',' && !quoted) {
        cells.push(cur);
        cur = '';
      } else {
        cur += ch;
      }
    }
    cells.push(cur);
    rows.push(cells);
  }
  return rows;
}
const panic: Listed[] = readCsv(readFileSync(join(dataDir, 'cryptopanic_currencies.csv'), 'utf8'))
  .slice(1)
  .map(([code = '', name = '', news = '0']) => ({ code: code.trim(), name: name.trim(), news: Number(news) }));
const newsBySymbol = new Map(panic.map((p) => [p.code.toUpperCase(), p.news]));

// --- what is already taken: every form of the curated coins, exchanges and companies, look-alikes ---
const claimed = new Set<string>();
const claim = (form: string): void => void claimed.add(form.toLowerCase());
for (const c of curated.coins) {
  for (const f of [c.symbol, ...(c.tickers ?? []), c.name, ...c.aliases, ...(c.cased_aliases ?? []), ...(c.weak_aliases ?? [])])
    claim(f);
  for (const f of [...(c.context_aliases ?? []), ...(c.person_aliases ?? []), ...(c.excludes ?? [])]) claim(f);
}
for (const nc of curated.non_coins) for (const f of [nc.name, ...nc.aliases]) claim(f);

// Words a headline uses about crypto in general: never a coin's name on their own.
const GENERIC = new Set(
  (
    'bitcoin ethereum crypto cryptocurrency cryptocurrencies token tokens coin coins defi nft nfts meme memecoin web3 ' +
    'blockchain metaverse stablecoin stablecoins layer ai dao dex chain network protocol finance swap exchange wallet ' +
    'market markets cash dollar euro gold silver oil usd money pay bank trust capital fund etf staking yield bridge ' +
    'the one my it is a an of and or for you we us new all best'
  ).split(' '),
);
// Upper-case words headlines use that are not tickers (beyond the curated acronym and stock lists).
const ACRONYMS = new Set(
  (
    'ABC ADA AI AP API ATM BBC CBS CEO CNBC CNN CPI DC DNA DOE DOT EPA ESG EST EU FAQ FDA FOMC FOX FTX FYI GDP GMT HK HR ' +
    'IBM ID IMF IP IPO IQ IRS IT JPM LA LLC LTD MIT MLB NASA NATO NBA NBC NFL NHS NY NYC NYT OK PC PDF PM PNG PR PST RBI ' +
    'SEC SMS SUV TV UFC UK UN UPS US USA USB UTC VIP VPN WHO WSJ WTF XL BREAKING LIVE NEW UPDATE WATCH ALERT JUST EXCLUSIVE ' +
    'OPINION ANALYSIS REPORT VIDEO PODCAST SPONSORED ELON MUSK TRUMP DOGE SAYS BTC ETH DEX CEX OTC KYC AML ETF ETFS ETP ATH ATL TVL APY APR RWA'
  ).split(' '),
);
for (const a of [...curated.context.acronym_stoplist, ...curated.context.stock_tickers]) ACRONYMS.add(a.toUpperCase());

// --- turn a listed coin into a catalogue entry ---
// "Cetus Protocol" is called "Cetus". Not "X Token"/"X Coin": there X is usually a company ("Voyager Token", "KuCoin
// Token") and headlines about the company are not about its token.
const SUFFIX_RE = /\s+(?:Protocol|Network|Finance|DAO|Chain|Labs|Swap)$/;
const SYMBOL_RE = /^[A-Z0-9][A-Z0-9_]*$/;
const CRYPTO_WORD_RE = /\b(?:Token|Coin|Protocol|Network|Finance|DAO|Chain|Swap|Labs|Wrapped|Staked|Bridged|Dollar|USD|Inu|Doge|Pepe|Shiba)\b/;

function cleanName(name: string): string {
  return name
    .replace(/\s*[[(][^\])]*[\])]\s*/g, ' ') // "USDX [Kava]", "dYdX (ethDYDX)"
    .replace(/\s+v\d+$/i, '') // "Kyber Network Crystal v2"
    .replace(/\s+/g, ' ')
    .trim();
}

// Words of the big coins' names: a little-known coin whose name holds one ("Strategic Bitcoin Reserve", "Solana Swap")
// would steal the big coin's mentions, because the longest phrase wins.
const bigNameWords = new Set<string>();
for (const c of curated.coins.slice(0, 150)) {
  for (const f of [c.name, ...c.aliases, ...(c.cased_aliases ?? [])]) {
    for (const w of f.split(/\s+/)) if (w.length >= 4 && /\p{Ll}/u.test(w)) bigNameWords.add(w.toLowerCase());
  }
}
bigNameWords.add('trump');

function usableForm(form: string, news = 0): boolean {
  const lower = form.toLowerCase();
  if (news < 300 && lower.split(/\s+/).some((w) => bigNameWords.has(w))) return false;
  return (
    form.length >= 3 &&
    form.length <= 40 &&
    form.split(' ').length <= 4 &&
    /^[\p{L}\p{N}][\p{L}\p{N} .&-]*$/u.test(form) &&
    !GENERIC.has(lower) &&
    !claimed.has(lower)
  );
}

/** Ticker strictness: a word, an acronym, one or two letters, or a coin the news rarely names needs a $ or "(T)". */
function tickerFlags(symbol: string, news: number): Pick<CoinEntry, 'ticker_is_common_word' | 'ticker_needs_marker'> {
  const word = isWordLike(symbol) && symbol.length > 1;
  const needsMarker = word || symbol.length <= 3 || news < 300 || /^\d/.test(symbol);
  return { ...(word ? { ticker_is_common_word: true } : {}), ...(needsMarker ? { ticker_needs_marker: true } : {}) };
}

// Same coin, renamed since the icon set was drawn (the icon set keeps the old name): KuCoin Shares -> KuCoin Token,
// Melon -> Enzyme, FunFair -> FUNToken, Ambrosus -> AirDAO, Bonfida -> FIDA, Pundi X (NPXS), Monaco/Crypto.com (MCO),
// Paxos Standard (PAX), Santiment (SAN), ETHLend (LEND, Aave's first token).
const RENAMED_SAME_COIN = new Set(['KCS', 'MLN', 'FUN', 'AMB', 'FIDA', 'NPXS', 'MCO', 'PAX', 'SAN', 'LEND']);

function iconFor(symbols: string[], names: string[]): string | undefined {
  const norm = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const wanted = names.map(norm).filter((n) => n.length > 0);
  for (const sym of symbols) {
    const m = manifest.find((e) => e.symbol.toUpperCase() === sym.toUpperCase());
    if (!m || !iconFiles.has(m.symbol.toLowerCase())) continue;
    const n = norm(m.name);
    // The same ticker is not enough: many coins share one. The icon's coin must have one of our names.
    const sameName = wanted.some((w) => w === n || (w.length >= 4 && n.startsWith(w)) || (n.length >= 4 && w.startsWith(n)));
    if (sameName || RENAMED_SAME_COIN.has(sym.toUpperCase())) {
      return m.symbol.toLowerCase();
    }
  }
  return undefined;
}

function generated(symbol: string, rawName: string, news: number, extra: Partial<CoinEntry>): CoinEntry | undefined {
  // A ticker that is an acronym or a stock ("DAO", "NFT", "META") would make every such headline a coin headline.
  if (!SYMBOL_RE.test(symbol) || claimed.has(symbol.toLowerCase()) || ACRONYMS.has(symbol)) return undefined;
  const name = cleanName(rawName);
  const forms: string[] = [];
  if (name !== symbol && usableForm(name, news)) forms.push(name);
  const short = name.replace(SUFFIX_RE, '');
  if (short !== name && short !== symbol && usableForm(short, news)) forms.push(short);

  const entry: CoinEntry = { symbol, name: forms[0] ?? symbol, aliases: [], ...extra, news_count: news };
  const cased: string[] = [];
  const wordy: string[] = [];
  let nameIsWord = false;
  for (const form of forms) {
    const words = form.split(/[\s-]+/);
    // A name of ordinary words ("Status", "Smooth Love Potion") or a place/person ("Aurora") needs crypto context;
    // an invented word ("Cetus", "Dogwifhat") or a phrase with a crypto word ("Energy Web Token") only a capital.
    const isWordy = words.every((w) => isWordLike(w) || /^\d+$/.test(w)) && !CRYPTO_WORD_RE.test(form);
    if (form === entry.name) nameIsWord = isWordy;
    // Three ordinary words in a row ("Smooth Love Potion") are a name already; one or two are not.
    // A one-word name of a coin the news hardly names ("Roundtable", news count 0) is more likely something else
    // with that name: it needs the same proof as a word.
    // (Inner capitals, as in "crvUSD" or "WazirX", make a name distinctive whatever the news count.)
    const obscure = words.length === 1 && news < 50 && !/\p{Ll}\p{Lu}/u.test(form);
    if (!/\p{Ll}/u.test(form)) entry.aliases.push(form); // upper-case names behave like tickers
    else ((isWordy && words.length <= 2) || obscure ? wordy : cased).push(form);
    claim(form);
  }
  if (entry.name !== symbol && !entry.aliases.includes(entry.name) && cased.length + wordy.length === 0) entry.aliases.push(entry.name);
  if (cased.length) entry.cased_aliases = cased;
  if (wordy.length) entry.word_aliases = wordy;
  if (nameIsWord) entry.name_is_word = true;
  Object.assign(entry, tickerFlags(symbol, news));
  claim(symbol);
  return entry;
}

// --- assemble ---
const coins: CoinEntry[] = curated.coins.map((c) => {
  const icon = iconFor([c.symbol, ...(c.tickers ?? [])], [c.name, ...c.aliases, ...(c.cased_aliases ?? []), ...(c.weak_aliases ?? [])]);
  const news = newsBySymbol.get(c.symbol);
  const nameIsWord = c.name.split(/\s+/).every(isWordLike);
  return {
    ...c,
    ...(nameIsWord ? { name_is_word: true } : {}),
    ...(icon ? { icon } : {}),
    ...(news !== undefined ? { news_count: news } : {}),
  };
});
const added: CoinEntry[] = [];
const add = (e: CoinEntry | undefined): void => {
  if (!e) return;
  const icon = iconFor([e.symbol], [e.name, ...e.aliases, ...(e.cased_aliases ?? []), ...(e.context_aliases ?? [])]);
  if (icon) e.icon = icon;
  if (!e.brand_color) {
    const color = manifest.find((m) => m.symbol.toLowerCase() === icon)?.color;
    if (color && /^#[0-9a-fA-F]{6}$/.test(color)) e.brand_color = color.toLowerCase();
  }
  added.push(e);
};
// Market-cap list first (its names are CoinGecko's), then what the news tags, most-tagged first, then the icon set.
for (const g of gecko.coins) add(generated(g.symbol.toUpperCase(), g.name, newsBySymbol.get(g.symbol.toUpperCase()) ?? 0, { rank: g.rank, coingecko_id: g.coingecko_id }));
for (const p of [...panic].sort((a, b) => b.news - a.news)) {
  // A currency CryptoPanic knows only by its ticker, and that no news item tags, is noise.
  if (p.name === p.code && p.news < 10) continue;
  add(generated(p.code.toUpperCase(), p.name, p.news, {}));
}
for (const m of manifest) add(generated(m.symbol.toUpperCase(), m.name, newsBySymbol.get(m.symbol.toUpperCase()) ?? 0, {}));

const out = {
  schema_version: 1 as const,
  description:
    'Coin catalogue for loraloop coin detection, GENERATED by scripts/build-coin-catalogue.ts from data/catalogue/ ' +
    '(edit curated.json or the lists there, then rerun). Tickers are current CoinMarketCap-style symbols (upper case). ' +
    'See src/cover/coins/catalogue.ts for the meaning of every field.',
  sources:
    'data/catalogue/SOURCES.md: curated.json (hand-tuned), CryptoPanic currency list with news counts ' +
    '(soheilrahsaz/cryptoNewsDataset, CC0), CoinGecko top 100 (JurijJusel/mini-projects), cryptocurrency-icons manifest ' +
    '(CC0), Debian wamerican word list.',
  coins: [...coins, ...added],
  non_coins: curated.non_coins,
  context: curated.context,
};
parseCoinCatalogue(out, 'generated catalogue'); // refuse to write a catalogue the app would refuse to load

const lines = out.coins.map((c) => `  ${JSON.stringify(c)}`).join(',\n');
const text =
  '{\n' +
  ` "schema_version": 1,\n "description": ${JSON.stringify(out.description)},\n "sources": ${JSON.stringify(out.sources)},\n` +
  ` "coins": [\n${lines}\n ],\n "non_coins": ${JSON.stringify(out.non_coins)},\n "context": ${JSON.stringify(out.context)}\n}\n`;
writeFileSync(outPath, text);
// The app trusts these exact bytes without validating them again (see loadCoinCatalogue).
writeFileSync(`${outPath}.sha256`, `${catalogueChecksum(text)}\n`);
process.stderr.write(`${outPath}: ${coins.length} curated + ${added.length} generated = ${out.coins.length} coins\n`);

/**
 * The coin catalogue: which coins exist, every name a headline may call them by, and the flags that
 * tell the detector how careful to be with each one. The data lives in `data/coins.json` (a data file,
 * edited by people); this module validates it with zod and gives it a typed face.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ErrorCodes, LoraloopError } from '../../core/errors.js';

const symbolSchema = z
  .string()
  .regex(/^[A-Z0-9][A-Z0-9_]*$/, 'a symbol is an upper-case ticker (A-Z, 0-9, _)')
  .describe('Upper-case CoinMarketCap-style ticker, e.g. "BTC", "POL", "1INCH".');
const phraseSchema = z.string().trim().min(1, 'an alias may not be empty');

const coinSchema = z
  .object({
    symbol: symbolSchema,
    name: phraseSchema.describe('The coin\'s usual name, e.g. "Bitcoin".'),
    rank: z.number().int().positive().optional().describe('Market-cap rank (late 2025), lower is bigger.'),
    coingecko_id: z.string().min(1).optional().describe('CoinGecko id, for people who want to look it up.'),
    aliases: z
      .array(phraseSchema)
      .describe('Other names and phrases that mean this coin (matched in any letter case): "Ripple", "XRP Ledger".'),
    cased_aliases: z
      .array(phraseSchema)
      .optional()
      .describe('Names that are also ordinary words: they count only when capitalised ("Ripple", not "ripple").'),
    weak_aliases: z
      .array(phraseSchema)
      .optional()
      .describe(
        'Names that are common words ("Optimism", "Metal"): capitalised, and in a Title Case headline or at the start ' +
          'of a sentence they also need crypto context (a possessive, "token", "price", the ticker, a list of coins).',
      ),
    context_aliases: z
      .array(phraseSchema)
      .optional()
      .describe(
        'Names that are also the proper name of something else ("Jupiter" the planet, "Sky" News, "Core" Scientific): ' +
          'capitalised and always with crypto context, even mid-sentence.',
      ),
    word_aliases: z
      .array(phraseSchema)
      .optional()
      .describe(
        'Ordinary-word names of less-known coins ("Threshold", "Rally", "Alien Worlds"): capitalised and with strong ' +
          'crypto context only (followed by token/coin/price/network/protocol..., the ticker in the title, a hashtag, ' +
          'or in a list of coins). Headlines use these words as words far more often than as the coin.',
      ),
    person_aliases: z
      .array(phraseSchema)
      .optional()
      .describe('Names of people the coin is named after ("Trump"): they count only as "<Name> memecoin(s)" and alike.'),
    tickers: z
      .array(symbolSchema)
      .optional()
      .describe('Older or alternative tickers that mean this coin ("MATIC" for POL, "XBT" for BTC).'),
    ticker_is_common_word: z
      .boolean()
      .optional()
      .describe('The ticker is an English word ("NEAR", "LINK"): only the upper-case form counts, never "Near"/"near".'),
    ticker_needs_marker: z
      .boolean()
      .optional()
      .describe(
        'Even the upper-case ticker is too ambiguous ("S", "KEY", "WHY"): it counts only as $TICKER, #TICKER, ' +
          '"(TICKER)", a trading pair, "TICKER token/price", or in a list of other tickers.',
      ),
    ticker_needs_context: z
      .boolean()
      .optional()
      .describe('The ticker is also a well-known acronym ("FTC"): bare, it counts only next to chain words ("51% attack").'),
    context_cues: z
      .array(phraseSchema)
      .optional()
      .describe('With ticker_needs_context: the words that prove the ticker means the coin (instead of context.chain_cues).'),
    ticker_lowercase_ok: z
      .boolean()
      .optional()
      .describe('The lower-case ticker ("btc", "eth") is unambiguous and counts too.'),
    quote_currency: z
      .boolean()
      .optional()
      .describe('A stablecoin used to quote prices: "660 USDT" and "BTC/USDT" are prices, not mentions.'),
    reverse_cues: z
      .array(phraseSchema)
      .optional()
      .describe(
        'Words that, anywhere in the title, show the name means something else ("dog", "dies" for Shiba Inu the breed): ' +
          'a name match is dropped unless the ticker is written too or a coin noun follows the name.',
      ),
    excludes: z
      .array(phraseSchema)
      .optional()
      .describe('Look-alike phrases that are NOT this coin ("BTC-e", "BTG Pactual"): a match on them blocks the coin.'),
    name_is_word: z
      .boolean()
      .optional()
      .describe('The name is an ordinary English word or a proper name of something else (word list): it needs crypto context.'),
    icon: z
      .string()
      .regex(/^[a-z0-9$]+$/, 'icon is a lower-case cryptocurrency-icons file name')
      .optional()
      .describe(
        'The cryptocurrency-icons symbol whose icon is this coin\'s logo; absent when the set has none for this coin ' +
          '(another coin with the same ticker does not count), so the cover draws a monogram.',
      ),
    news_count: z
      .number()
      .int()
      .nonnegative()
      .optional()
      .describe('How many CryptoPanic news items tag the coin (2017-2025): how often the news names it.'),
    brand_color: z
      .string()
      .regex(/^#[0-9a-fA-F]{6}$/, 'brand_color is a #rrggbb hex colour')
      .optional()
      .describe('Brand colour, #rrggbb.'),
  })
  .strict();

const nonCoinSchema = z
  .object({
    name: phraseSchema.describe('An exchange, company, fund, event or project that is not a coin: "Binance".'),
    kind: z.enum(['exchange', 'company', 'fund', 'project', 'event', 'wallet', 'person']).describe('What it is.'),
    aliases: z.array(phraseSchema).describe('Other names for it.'),
  })
  .strict();

const contextSchema = z
  .object({
    coin_nouns: z.array(phraseSchema).describe('Words that make a person-name a coin: "Trump memecoins".'),
    weak_context_after: z.array(phraseSchema).describe('Words after a weak alias that show it is the coin.'),
    strong_context_after: z
      .array(phraseSchema)
      .optional()
      .describe('Words after a word alias that prove it is the coin ("token", "price", "network"); not verbs like "hits".'),
    ticker_word_followers: z
      .array(phraseSchema)
      .describe('Words after a common-word ticker that show it is the word: "NEAR a bottom", "TON of".'),
    chain_cues: z.array(phraseSchema).describe('Words anywhere in a title that let an acronym-like ticker count.'),
    project_cues: z
      .array(phraseSchema)
      .optional()
      .describe(
        'Words anywhere in a title that show it is about a protocol ("hack", "bridge", "mainnet"): a common-word name ' +
          'that opens such a title is its subject, the coin ("Harmony Loses $100m During Horizon Bridge Hack").',
      ),
    descriptor_words: z.array(phraseSchema).describe('"Solana meme coin Dogwifhat": words between a describing coin and the subject.'),
    acronym_stoplist: z.array(z.string().min(1)).describe('Parenthesised or cashtag acronyms that are never unknown coins.'),
    stock_tickers: z.array(z.string().min(1)).describe('Stock cashtags ($COIN, $MSTR) that are never coins.'),
  })
  .strict();

const catalogueFileSchema = z
  .object({
    schema_version: z.literal(1),
    description: z.string().optional(),
    sources: z.string().optional(),
    coins: z.array(coinSchema).min(1, 'the catalogue lists no coins'),
    non_coins: z.array(nonCoinSchema),
    context: contextSchema,
  })
  .strict()
  .superRefine((file, ctx) => {
    // Two coins claiming one ticker or one name would make detection depend on file order: refuse it.
    const owner = new Map<string, string>();
    file.coins.forEach((coin, i) => {
      const forms = [
        coin.symbol,
        ...(coin.tickers ?? []),
        coin.name,
        ...coin.aliases,
        ...(coin.cased_aliases ?? []),
        ...(coin.weak_aliases ?? []),
        ...(coin.context_aliases ?? []),
        ...(coin.word_aliases ?? []),
        ...(coin.person_aliases ?? []),
      ];
      for (const form of new Set(forms.map((f) => f.toLowerCase()))) {
        const prev = owner.get(form);
        if (prev !== undefined && prev !== coin.symbol) {
          ctx.addIssue({
            code: 'custom',
            path: ['coins', i],
            message: `"${form}" is claimed by both ${prev} and ${coin.symbol}`,
          });
        }
        owner.set(form, coin.symbol);
      }
    });
  });

/** One coin of the catalogue (the JSON entry, validated). */
export type CoinEntry = z.infer<typeof coinSchema>;
/** An exchange, company, fund or project that headlines name but that is not a coin. */
export type NonCoinEntity = z.infer<typeof nonCoinSchema>;
/** Word lists the detector's rules use; they live in the data file so they can be tuned without code. */
export type CatalogueContext = z.infer<typeof contextSchema>;

/** The loaded, validated catalogue. */
export interface CoinCatalogue {
  /** Every coin, biggest first. */
  coins: CoinEntry[];
  /** Exchanges and companies that are not coins ("Binance", "Circle", "Strategy"). */
  nonCoins: NonCoinEntity[];
  /** Rule word lists (coin nouns, context words, acronym stop list). */
  context: CatalogueContext;
  /** The coin with this ticker (or older ticker, e.g. "MATIC"), case-insensitive. */
  bySymbol(symbol: string): CoinEntry | undefined;
}

/** Validate a parsed catalogue file; `source` names it in error messages. */
export function parseCoinCatalogue(raw: unknown, source = 'coin catalogue'): CoinCatalogue {
  const parsed = catalogueFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .slice(0, 5)
      .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
      .join('; ');
    throw new LoraloopError(ErrorCodes.CONFIG_INVALID, `The coin catalogue ${source} is malformed: ${issues}.`, {
      hint: 'Fix the named entries in the file (see src/cover/coins/catalogue.ts for what each field means).',
      details: { source, issueCount: parsed.error.issues.length },
    });
  }
  return buildCatalogue(parsed.data);
}

type CatalogueFile = z.infer<typeof catalogueFileSchema>;

function buildCatalogue(file: CatalogueFile): CoinCatalogue {
  const coins = [...file.coins].sort((a, b) => (a.rank ?? Number.MAX_SAFE_INTEGER) - (b.rank ?? Number.MAX_SAFE_INTEGER));
  const index = new Map<string, CoinEntry>();
  for (const coin of coins) {
    for (const t of [coin.symbol, ...(coin.tickers ?? [])]) if (!index.has(t)) index.set(t, coin);
  }
  return {
    coins,
    nonCoins: file.non_coins,
    context: file.context,
    bySymbol: (symbol) => index.get(symbol.trim().replace(/^\$/, '').toUpperCase()),
  };
}

/** Find data/coins.json by walking up from this module (works from src/ under tsx/vitest and from dist/src/). */
export function defaultCataloguePath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'data', 'coins.json');
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) {
      throw new LoraloopError(ErrorCodes.NOT_FOUND, 'Could not find data/coins.json above the loraloop install.', {
        hint: 'Pass the catalogue path to loadCoinCatalogue(path).',
        category: 'system',
      });
    }
    dir = parent;
  }
}

/** Read and validate the coin catalogue (default: the repository's data/coins.json). */
export function loadCoinCatalogue(path?: string): CoinCatalogue {
  const file = resolve(path ?? defaultCataloguePath());
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new LoraloopError(ErrorCodes.NOT_FOUND, `Could not read the coin catalogue ${file}.`, {
      hint: 'Check the path; the default is data/coins.json in the repository.',
      cause,
    });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
    // The generator validated exactly these bytes with the schema above and wrote their SHA-256 beside them
    // (`coins.json.sha256`). Validating 2,500 entries again costs a cold `loraloop cover` a few hundred ms, so
    // unchanged bytes are trusted; a hand-edited file no longer matches its checksum and is validated in full.
    if (matchesChecksum(file, text)) return buildCatalogue(raw as CatalogueFile);
  } catch (cause) {
    throw new LoraloopError(
      ErrorCodes.CONFIG_INVALID,
      `The coin catalogue ${file} is not valid JSON: ${cause instanceof Error ? cause.message : String(cause)}.`,
      { hint: 'Fix the JSON syntax at the position named.', cause },
    );
  }
  return parseCoinCatalogue(raw, file);
}

/** Whether `<file>.sha256` holds the SHA-256 of `text` (written by scripts/build-coin-catalogue.ts). */
function matchesChecksum(file: string, text: string): boolean {
  let expected: string;
  try {
    expected = readFileSync(`${file}.sha256`, 'utf8').trim();
  } catch {
    return false;
  }
  return catalogueChecksum(text) === expected;
}

/** The checksum the generator writes beside the catalogue it validated. */
export function catalogueChecksum(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

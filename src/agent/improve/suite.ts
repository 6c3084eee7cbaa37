/**
 * The fixed evaluation suite: the same headlines with the same seeds every night, so a candidate and the
 * current version are compared on identical requests and two nights are comparable. Three categories of
 * the news a desk covers, ten headlines each; `{coin}` is the LoRA's first coin (its catalogue name), or a
 * generic subject for a LoRA that serves no coin.
 */
import type { SuitePrompt } from './types.js';

export const SUITE_CATEGORIES: Record<string, readonly string[]> = {
  market: [
    '{coin} rallies 12% as traders pile back in',
    '{coin} slips below a key support level',
    '{coin} hits a new all-time high',
    'Whales move $400M of {coin} to exchanges',
    '{coin} volatility falls to a two-year low',
    '{coin} futures open interest reaches a record',
    '{coin} ETF inflows top $1 billion in a week',
    '{coin} price steadies after a weekend sell-off',
    'Analysts split on where {coin} goes next',
    '{coin} outperforms the market for a third week',
  ],
  regulation: [
    'Regulators open an inquiry into {coin} trading',
    'Court ruling clears the way for {coin} products',
    'Lawmakers debate new rules that touch {coin}',
    'Exchange delists {coin} in three countries',
    'Tax authority issues guidance on {coin} gains',
    'Central bank warns retail investors about {coin}',
    '{coin} foundation settles with the regulator',
    'New licensing regime welcomes {coin} businesses',
    'Senate hearing puts {coin} in the spotlight',
    'Compliance firms add {coin} monitoring tools',
  ],
  technology: [
    '{coin} developers ship a major network upgrade',
    '{coin} network processes a record number of transactions',
    'A bug bounty on {coin} pays out $2 million',
    '{coin} wallets add passkey logins',
    'Developers propose cutting {coin} fees in half',
    '{coin} testnet goes live with a new consensus change',
    'Outage halts {coin} block production for an hour',
    '{coin} ecosystem fund backs 40 new projects',
    'Researchers publish an audit of {coin} smart contracts',
    'Layer-2 activity on {coin} doubles in a month',
  ],
};

/** Prompt `index` of category number `c` uses seed BASE_SEED + 100 c + index, whatever the suite size. */
export const BASE_SEED = 7_001;
export const DEFAULT_PROMPTS_PER_CATEGORY = 10;

/** The suite for a subject name (a coin's name, or "the market" for a LoRA without coins). */
export function promptSuite(subject: string, perCategory = DEFAULT_PROMPTS_PER_CATEGORY): SuitePrompt[] {
  const out: SuitePrompt[] = [];
  Object.entries(SUITE_CATEGORIES).forEach(([category, titles], c) => {
    titles.slice(0, Math.max(1, Math.min(titles.length, perCategory))).forEach((t, index) => {
      out.push({ category, index, title: t.replaceAll('{coin}', subject), seed: BASE_SEED + 100 * c + index });
    });
  });
  return out;
}

export const promptKey = (p: Pick<SuitePrompt, 'category' | 'index'>): string => `${p.category}#${p.index}`;

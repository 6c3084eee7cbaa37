/**
 * Score a coin detector against labelled headlines (../shared/eval/crypto_headlines.*.jsonl): exact-set accuracy,
 * micro precision and recall over coins, and the rows it got wrong. Used by scripts/eval-route.ts and the
 * regression test.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ErrorCodes, LoraloopError } from '../../core/errors.js';
import type { CoinDetector } from './detect.js';

const rowSchema = z.object({
  title: z.string().describe('The headline exactly as published.'),
  subtitle: z.string().optional().describe('Optional standfirst.'),
  coins: z.array(z.string()).describe('Gold label: upper-case tickers; [] means no specific coin.'),
  source: z.string().optional(),
  label_origin: z.string().optional(),
  split: z.enum(['tune', 'holdout']).optional().describe('Own set: rules were tuned on "tune" rows only; "holdout" is reported untouched.'),
});

/** One labelled headline. */
export type EvalRow = z.infer<typeof rowSchema>;

/** A row the detector got wrong. */
export interface EvalMiss {
  title: string;
  expected: string[];
  got: string[];
  /** Gold coins the detector did not find. */
  missing: string[];
  /** Coins the detector found that the gold label does not have. */
  extra: string[];
}

/** Scores of one run. */
export interface EvalReport {
  rows: number;
  exact: number;
  /** exact / rows */
  accuracy: number;
  /** Found coins that are right / all found coins (micro). */
  precision: number;
  /** Gold coins found / all gold coins (micro). */
  recall: number;
  misses: EvalMiss[];
}

/** Read a JSONL file of labelled headlines; a bad line throws, naming its number. */
export function readEvalRows(path: string): EvalRow[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw new LoraloopError(ErrorCodes.NOT_FOUND, `Could not read the evaluation file ${path}.`, {
      hint: 'The dev set lives in ../shared/eval/crypto_headlines.dev.jsonl beside the repository.',
      cause,
    });
  }
  return text
    .split('\n')
    .map((line, i) => [line.trim(), i + 1] as const)
    .filter(([line]) => line.length > 0)
    .map(([line, n]) => {
      const parsed = rowSchema.safeParse((() => {
        try {
          return JSON.parse(line) as unknown;
        } catch {
          return undefined;
        }
      })());
      if (!parsed.success) {
        throw new LoraloopError(ErrorCodes.INVALID_INPUT, `Line ${n} of ${path} is not a labelled headline.`, {
          hint: 'Each line must be JSON with "title" (string) and "coins" (array of tickers).',
        });
      }
      return parsed.data;
    });
}

/** Run the detector over every row and score it. */
export function evaluateDetector(detector: CoinDetector, rows: readonly EvalRow[]): EvalReport {
  let exact = 0;
  let truePos = 0;
  let found = 0;
  let gold = 0;
  const misses: EvalMiss[] = [];
  for (const row of rows) {
    const got = detector.detect(row.title, row.subtitle).map((c) => c.symbol);
    const want = new Set(row.coins.map((c) => c.toUpperCase()));
    const have = new Set(got);
    const missing = [...want].filter((c) => !have.has(c));
    const extra = [...have].filter((c) => !want.has(c));
    truePos += have.size - extra.length;
    found += have.size;
    gold += want.size;
    if (missing.length === 0 && extra.length === 0) exact++;
    else misses.push({ title: row.title, expected: [...want], got, missing, extra });
  }
  return {
    rows: rows.length,
    exact,
    accuracy: rows.length ? exact / rows.length : 1,
    precision: found ? truePos / found : 1,
    recall: gold ? truePos / gold : 1,
    misses,
  };
}

import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCoinCatalogue } from '../../../src/cover/coins/catalogue.js';
import { createCoinDetector } from '../../../src/cover/coins/detect.js';
import { evaluateDetector, readEvalRows } from '../../../src/cover/coins/evaluate.js';

const devSet = fileURLToPath(new URL('../../../../shared/eval/crypto_headlines.dev.jsonl', import.meta.url));

describe('coin detection on the labelled dev set', () => {
  it('keeps exact-set accuracy, precision and recall at the measured level (100%, 2-point margin)', () => {
    const rows = readEvalRows(devSet);
    expect(rows.length).toBeGreaterThanOrEqual(136);
    const report = evaluateDetector(createCoinDetector(loadCoinCatalogue()), rows);
    // On failure the message lists the headlines that regressed, not just a number.
    expect(report.accuracy, JSON.stringify(report.misses, null, 1)).toBeGreaterThanOrEqual(0.98);
    expect(report.precision).toBeGreaterThanOrEqual(0.98);
    expect(report.recall).toBeGreaterThanOrEqual(0.98);
  });
});

describe('coin detection on our own labelled set (data/eval/headlines.own.jsonl)', () => {
  const own = fileURLToPath(new URL('../../../data/eval/headlines.own.jsonl', import.meta.url));
  it('stays at 98% or better on the tune part and on the held-out part alike', () => {
    const rows = readEvalRows(own);
    expect(rows.length).toBeGreaterThanOrEqual(600);
    const detector = createCoinDetector(loadCoinCatalogue());
    for (const split of ['tune', 'holdout'] as const) {
      const report = evaluateDetector(detector, rows.filter((r) => r.split === split));
      expect(report.accuracy, `${split}: ${JSON.stringify(report.misses, null, 1)}`).toBeGreaterThanOrEqual(0.98);
      expect(report.precision, split).toBeGreaterThanOrEqual(0.98);
      expect(report.recall, split).toBeGreaterThanOrEqual(0.98);
    }
  });
});

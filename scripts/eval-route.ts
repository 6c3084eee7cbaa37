/**
 * Score coin detection on the labelled dev set and print accuracy, precision, recall and every miss.
 *
 *   npm run build && node dist/scripts/eval-route.js [path/to/headlines.jsonl]
 *
 * The default file is ../shared/eval/crypto_headlines.dev.jsonl beside the repository root (found by walking up
 * from this script to the folder holding package.json, so it works from scripts/ and dist/scripts/ alike).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCoinCatalogue } from '../src/cover/coins/catalogue.js';
import { createCoinDetector } from '../src/cover/coins/detect.js';
import { evaluateDetector, readEvalRows } from '../src/cover/coins/evaluate.js';

function repoRoot(): string {
  for (const start of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    let dir = start;
    for (;;) {
      if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'data', 'coins.json'))) return dir;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  return process.cwd();
}

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

const root = repoRoot();
const file = process.argv[2] ? resolve(process.argv[2]) : join(root, '..', 'shared', 'eval', 'crypto_headlines.dev.jsonl');
const detector = createCoinDetector(loadCoinCatalogue(join(root, 'data', 'coins.json')));
const report = evaluateDetector(detector, readEvalRows(file));

console.log(`file       ${file}`);
console.log(`headlines  ${report.rows}`);
console.log(`exact-set  ${pct(report.accuracy)} (${report.exact}/${report.rows})`);
console.log(`precision  ${pct(report.precision)}`);
console.log(`recall     ${pct(report.recall)}`);
console.log(`misses     ${report.misses.length}`);
for (const m of report.misses) {
  const title = m.title.replace(/\s+/g, ' ');
  console.log(`- ${title}`);
  console.log(`    expected [${m.expected.join(', ')}]  got [${m.got.join(', ')}]` +
    (m.missing.length ? `  missing ${m.missing.join(',')}` : '') + (m.extra.length ? `  extra ${m.extra.join(',')}` : ''));
}

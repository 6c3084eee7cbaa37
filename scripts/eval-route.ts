/**
 * Score coin detection on every labelled set and print, per set, exact-set accuracy, precision, recall and the misses.
 *
 *   npm run eval:route                 # dev set + own set (tune and holdout parts reported apart)
 *   npm run eval:route -- FILE.jsonl   # one file only
 *
 * Sets: ../shared/eval/crypto_headlines.dev.jsonl (beside the repository) and data/eval/headlines.own.jsonl (our own
 * 791 judged headlines; see data/eval/README.md). The own set's `split` says which rows rules may be tuned on ("tune")
 * and which are only ever reported ("holdout"). The repository root is found by walking up from this script, so it
 * works from scripts/ and dist/scripts/ alike.
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadCoinCatalogue } from '../src/cover/coins/catalogue.js';
import { createCoinDetector } from '../src/cover/coins/detect.js';
import { evaluateDetector, readEvalRows, type EvalRow } from '../src/cover/coins/evaluate.js';

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
const started = performance.now();
const detector = createCoinDetector(loadCoinCatalogue(join(root, 'data', 'coins.json')));
const loadMs = performance.now() - started;

const sets: Array<{ name: string; file: string; rows: EvalRow[] }> = [];
if (process.argv[2]) {
  const file = resolve(process.argv[2]);
  sets.push({ name: file, file, rows: readEvalRows(file) });
} else {
  const dev = join(root, '..', 'shared', 'eval', 'crypto_headlines.dev.jsonl');
  if (existsSync(dev)) sets.push({ name: 'dev (shared/eval)', file: dev, rows: readEvalRows(dev) });
  else console.log(`(no dev set at ${dev})`);
  const own = join(root, 'data', 'eval', 'headlines.own.jsonl');
  const rows = readEvalRows(own);
  sets.push({ name: 'own: tune', file: own, rows: rows.filter((r) => r.split !== 'holdout') });
  sets.push({ name: 'own: holdout (never tuned on)', file: own, rows: rows.filter((r) => r.split === 'holdout') });
}

console.log(`catalogue  ${loadMs.toFixed(0)} ms to load and compile`);
const summary: string[] = [];
for (const set of sets) {
  const report = evaluateDetector(detector, set.rows);
  console.log(`\n== ${set.name}  (${set.file})`);
  console.log(`headlines  ${report.rows}`);
  console.log(`exact-set  ${pct(report.accuracy)} (${report.exact}/${report.rows})`);
  console.log(`precision  ${pct(report.precision)}`);
  console.log(`recall     ${pct(report.recall)}`);
  console.log(`misses     ${report.misses.length}`);
  for (const m of report.misses) {
    console.log(`- ${m.title.replace(/\s+/g, ' ')}`);
    console.log(
      `    expected [${m.expected.join(', ')}]  got [${m.got.join(', ')}]` +
        (m.missing.length ? `  missing ${m.missing.join(',')}` : '') +
        (m.extra.length ? `  extra ${m.extra.join(',')}` : ''),
    );
  }
  summary.push(
    `${set.name.padEnd(32)} ${String(report.rows).padStart(4)} rows  exact ${pct(report.accuracy).padStart(6)}  ` +
      `precision ${pct(report.precision).padStart(6)}  recall ${pct(report.recall).padStart(6)}`,
  );
}
console.log(`\n== summary\n${summary.join('\n')}`);

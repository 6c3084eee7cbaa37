/**
 * `npm run bench`: prints figures (medians, ratios against a floor measured in the same run). Never pass/fail.
 * Sections can be chosen: `npm run bench -- render dataset`.
 */
import { createReport, type BenchSection } from './lib.js';
import { datasetBench } from './sections/dataset.js';
import { foundationBench } from './sections/foundation.js';
import { generationBench } from './sections/generation.js';
import { remoteBench } from './sections/remote.js';
import { scaleBench } from './sections/scale.js';

const sections: Record<string, BenchSection> = {
  foundation: foundationBench,
  generation: generationBench,
  dataset: datasetBench,
  remote: remoteBench,
  scale: scaleBench,
};

const wanted = process.argv.slice(2);
const report = createReport();
console.log(`loraloop bench on ${process.platform}/${process.arch}, node ${process.version}, ${new Date().toISOString()}`);
for (const [name, section] of Object.entries(sections)) {
  if (wanted.length && !wanted.includes(name)) continue;
  try {
    await section(report);
  } catch (e) {
    console.error(`section ${name} failed: ${(e as Error).stack ?? String(e)}`);
    process.exitCode = 1;
  }
}

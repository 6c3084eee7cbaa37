/**
 * Shot types read from the pixels of REAL photographs (tests/fixtures/people, hand-labelled, sources in
 * SOURCES.md): per-category precision and recall must stay above a floor. The floors sit a little under what
 * the classifier measured when its thresholds were set on this same set (it is a development set, not a
 * held-out one; see SOURCES.md), so a change that makes shot typing worse on real photos fails here.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeForMetrics } from '../../../src/image/decode.js';
import { createPeopleDetector } from '../../../src/dataset/people/detector.js';
import { shotFromPixels, shotWords, type ShotType } from '../../../src/dataset/people/index.js';

const DIR = new URL('../../fixtures/people/', import.meta.url).pathname;

interface Label {
  framing: string | null;
  multi: boolean | null;
  occlusion: boolean | null;
  complex: boolean | null;
}

const labels = JSON.parse(readFileSync(`${DIR}labels.json`, 'utf8')) as Record<string, Label | string>;
const files = Object.keys(labels).filter((f) => !f.startsWith('_'));

interface Score {
  tp: number;
  fp: number;
  fn: number;
}
const precision = (s: Score): number => (s.tp + s.fp === 0 ? 1 : s.tp / (s.tp + s.fp));
const recall = (s: Score): number => (s.tp + s.fn === 0 ? 1 : s.tp / (s.tp + s.fn));

describe('shot types from the pixels of real photos', () => {
  const detector = createPeopleDetector();
  afterAll(async () => detector.close());
  const shots = new Map<string, ShotType>();
  const ms: number[] = [];

  it('labels every photo in the set and every photo file has a label', async () => {
    const onDisk = readdirSync(DIR).filter((f) => f.endsWith('.jpg')).sort();
    expect(onDisk).toEqual([...files].sort());
    for (const f of files) {
      const img = await decodeForMetrics(readFileSync(`${DIR}${f}`));
      const t0 = performance.now();
      shots.set(f, await shotFromPixels(detector, img));
      ms.push(performance.now() - t0);
    }
    expect(shots.size).toBe(files.length);
  }, 120_000);

  it('reaches the precision and recall floors per category', () => {
    const score = new Map<string, Score>();
    const add = (cat: string, predicted: boolean, truth: boolean): void => {
      const s = score.get(cat) ?? { tp: 0, fp: 0, fn: 0 };
      if (predicted && truth) s.tp++;
      else if (predicted) s.fp++;
      else if (truth) s.fn++;
      score.set(cat, s);
    };
    for (const f of files) {
      const l = labels[f] as Label;
      const s = shots.get(f) as ShotType;
      if (l.framing !== null) for (const c of ['close-up', 'medium shot', 'full-body', 'far/wide']) add(c, s.framing === c, l.framing === c);
      if (l.multi !== null) add('multi-character', s.multi, l.multi);
      if (l.occlusion !== null) add('occlusion', s.occlusion, l.occlusion);
      if (l.complex !== null) add('complex background', s.complexBackground, l.complex);
    }
    const table = Object.fromEntries([...score].map(([c, s]) => [c, { precision: +precision(s).toFixed(2), recall: +recall(s).toFixed(2), ...s }]));
    // The figures, for the record (vitest prints them with --reporter=verbose; the report quotes them).
    console.log(JSON.stringify(table));
    const floors: Record<string, [number, number]> = {
      'close-up': [0.75, 0.75],
      'medium shot': [0.8, 0.85],
      'full-body': [0.8, 0.75],
      'far/wide': [0.8, 0.75],
      // Counted from faces: people seen from behind or too small for a face are missed (recall), never invented.
      'multi-character': [0.9, 0.5],
      // Only three occluded photos in the set: the floor is loose and says "finds some, rarely invents".
      occlusion: [0.5, 0.33],
      'complex background': [0.85, 0.9],
    };
    for (const [cat, [p, r]] of Object.entries(floors)) {
      const s = score.get(cat) as Score;
      expect.soft(precision(s), `${cat} precision`).toBeGreaterThanOrEqual(p);
      expect.soft(recall(s), `${cat} recall`).toBeGreaterThanOrEqual(r);
    }
  });

  it('finds nobody in photos without people, and then adds no shot words to a caption', () => {
    for (const f of files.filter((f) => (labels[f] as Label).framing === 'none')) {
      const s = shots.get(f) as ShotType;
      expect(s.people, f).toBe(0);
      expect(s.framing, f).toBeNull();
      expect(shotWords(s)).toEqual([]);
    }
  });

  it('describes a studio portrait as the local captioner writes it', () => {
    expect(shotWords(shots.get('tfjs-portrait-woman.jpg') as ShotType)).toEqual(['close-up', 'one person', 'face centred', 'plain background']);
    expect(shotWords(shots.get('tfjs-three-people.jpg') as ShotType)).toEqual(expect.arrayContaining(['medium shot', 'group of people', 'busy background']));
  });
});

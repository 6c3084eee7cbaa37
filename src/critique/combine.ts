/**
 * Combining the metric critic and the vision critic. The metric critic measures pixels; the vision critic
 * reads the picture like a person. Where both speak to the same question (is it the right coin? is there
 * another coin's logo? is the text intact?) and disagree, the result says so in a sentence, and the more
 * pessimistic verdict counts: a cover goes out only when neither critic objects.
 */
import type { Check } from './metric.js';
import type { VisionOutcome } from './vision.js';

/** How much the vision verdict weighs in the combined score when both critics ran. */
export const VISION_WEIGHT = 0.4;
/** Combined score cap when either critic finds the wrong coin. */
const WRONG_COIN_CAP = 0.3;
/** Combined score cap when the vision critic finds garbled text. */
const GARBLED_CAP = 0.5;

export interface Combined {
  score: number;
  disagreements: string[];
}

export function combineCritiques(metricScore: number, checks: Check[], expected: string | null, vision: VisionOutcome): Combined {
  if (vision.status !== 'ok') return { score: metricScore, disagreements: [] };
  const f = vision.findings;
  const disagreements: string[] = [];
  const logo = checks.find((c) => c.name === 'logo');
  const visionLogoOk = (expected === null || f.right_coin) && f.wrong_logos.filter((w) => w !== expected).length === 0;
  if (logo && logo.passed && !visionLogoOk) {
    const what = !f.right_coin && expected ? `it sees ${f.coin_seen ?? 'no coin logo'} instead of ${expected}` : `it sees another coin's logo (${f.wrong_logos.join(', ')})`;
    disagreements.push(`Logo: the metric critic passed it (${logo.detail}) but the vision critic objects: ${what}. The objection counts until a person checks.`);
  } else if (logo && !logo.passed && visionLogoOk && expected !== null) {
    disagreements.push(`Logo: the metric critic failed it (${logo.detail}) but the vision critic sees the right coin (${f.coin_seen ?? expected}). The failure counts until a person checks.`);
  }
  const text = checks.find((c) => c.name === 'text_fits');
  if (text && text.passed && f.garbled_text) {
    disagreements.push('Text: the renderer kept the whole title, but the vision critic reads garbled or cut-off text. The objection counts.');
  }
  let score = (1 - VISION_WEIGHT) * metricScore + VISION_WEIGHT * f.score;
  if (!visionLogoOk || (logo && !logo.passed)) score = Math.min(score, WRONG_COIN_CAP);
  if (f.garbled_text) score = Math.min(score, GARBLED_CAP);
  return { score: Math.round(score * 1000) / 1000, disagreements };
}

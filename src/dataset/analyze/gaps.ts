/**
 * Balance: the category distribution against the target ranges, each gap with a severity and advice a person
 * can act on ("Full-body is 10% of 412 images against 25-30%: add about 83 full-body images ..."), and the
 * volume level of the set.
 */
import { collectKeywords, CROPPABLE_FROM, FRAMING, IMPACT, type TargetRange } from './taxonomy.js';

/** One category of the distribution. `share` and `target` are percents of the analysed images. */
export interface CategoryStat {
  count: number;
  share: number;
  target: TargetRange | null;
}

export type Severity = 'high' | 'medium' | 'low';

/** A category outside its target range. */
export interface Gap {
  category: string;
  share: number;
  target: TargetRange;
  severity: Severity;
  /** 'under' or 'over' the range. */
  direction: 'under' | 'over';
  /** Images of this category to add (under) to reach the lower bound, assuming the others stay. */
  needed: number;
  /** What to do, with the numbers. */
  advice: string;
  /** What the gap costs the LoRA. */
  impact: string;
}

/** Volume levels: minimum 10-15, good 20-35, great 50-100, excellent 100-200 images. */
export type VolumeLevel = 'too_few' | 'minimum' | 'good' | 'great' | 'excellent';

export function volumeLevel(usable: number): VolumeLevel {
  if (usable < 10) return 'too_few';
  if (usable < 20) return 'minimum';
  if (usable < 50) return 'good';
  if (usable < 100) return 'great';
  return 'excellent';
}

/** One sentence on the volume and the next step up. */
export function volumeAdvice(usable: number): string {
  const level = volumeLevel(usable);
  switch (level) {
    case 'too_few':
      return `${usable} usable images is below the 10-15 minimum: add at least ${10 - usable} before training.`;
    case 'minimum':
      return `${usable} usable images is the minimum level (10-15); 20-35 is good: add about ${20 - usable}.`;
    case 'good':
      return `${usable} usable images is a good volume (20-35); 50-100 is great.`;
    case 'great':
      return `${usable} usable images is a great volume (50-100); 100-200 is excellent.`;
    case 'excellent':
      return `${usable} usable images is an excellent volume (100-200).`;
  }
}

const pct = (x: number): string => `${Math.round(x)}%`;
const range = (t: TargetRange): string => `${t[0]}-${t[1]}%`;
const cap = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

/** How a category reads in a sentence: "coin:ETH" -> "ETH coin", "palette:warm" -> "warm palette". */
export function categoryLabel(category: string): string {
  if (category.startsWith('coin:')) return `${category.slice(5)} coin`;
  if (category.startsWith('palette:')) return `${category.slice(8)} palette`;
  return category;
}

/** Category counts -> the distribution with shares (percent, one decimal) and targets. */
export function distribution(counts: Map<string, number>, total: number, targets: Record<string, TargetRange>): Record<string, CategoryStat> {
  const out: Record<string, CategoryStat> = {};
  const names = [...new Set([...Object.keys(targets), ...counts.keys()])];
  for (const name of names) {
    const count = counts.get(name) ?? 0;
    out[name] = { count, share: total > 0 ? Math.round((count / total) * 1000) / 10 : 0, target: targets[name] ?? null };
  }
  return out;
}

/** Images of a category to add so its share reaches `minPct`: (c + x) / (n + x) = min. */
export function imagesToReach(count: number, total: number, minPct: number): number {
  const m = minPct / 100;
  if (m >= 1) return Math.max(0, total - count);
  return Math.max(0, Math.ceil((m * total - count) / (1 - m) - 1e-9));
}

/** Gaps of a distribution, most severe first. `counts` of framing categories feed the crop advice. */
export function findGaps(dist: Record<string, CategoryStat>, total: number): Gap[] {
  const gaps: Gap[] = [];
  for (const [category, s] of Object.entries(dist)) {
    const t = s.target;
    if (!t || total === 0) continue;
    const label = categoryLabel(category);
    const impact = IMPACT[category] ?? `prompts for ${label} images will be weak`;
    if (s.share < t[0]) {
      const deficit = t[0] - s.share;
      const severity: Severity = deficit >= 10 || (s.count === 0 && t[0] >= 5) ? 'high' : deficit >= 5 ? 'medium' : 'low';
      const needed = imagesToReach(s.count, total, t[0]);
      let advice = `${cap(label)} is ${pct(s.share)} of ${total} images against ${range(t)}: add about ${needed} ${label} image${needed === 1 ? '' : 's'}`;
      const sources = (CROPPABLE_FROM[category] ?? []).filter((c) => (dist[c]?.count ?? 0) > 0);
      if (sources.length) {
        advice += `, or crop ${category} images from your ${sources.map((c) => `${dist[c]?.count} ${c}`).join(' and ')} images (dataset_rebalance)`;
      } else if (!(FRAMING as readonly string[]).includes(category) || category === 'full-body' || category === 'far/wide') {
        advice += ` (augmentation cannot make these; dataset_rebalance writes a collection profile with keywords: ${collectKeywords(category).slice(0, 3).join(', ')})`;
      }
      advice += `. Without them ${impact}.`;
      gaps.push({ category, share: s.share, target: t, severity, direction: 'under', needed, advice, impact });
    } else if (s.share > t[1]) {
      const excess = s.share - t[1];
      const severity: Severity = excess >= 25 ? 'high' : excess >= 10 ? 'medium' : 'low';
      const advice = `${cap(label)} is ${pct(s.share)} of ${total} images against ${range(t)}: the LoRA will lean towards ${label}; add other kinds of images or lower this subset's num_repeats (dataset_rebalance).`;
      gaps.push({ category, share: s.share, target: t, severity, direction: 'over', needed: 0, advice, impact: `outputs default to ${label}` });
    }
  }
  const rank: Record<Severity, number> = { high: 0, medium: 1, low: 2 };
  return gaps.sort((a, b) => rank[a.severity] - rank[b.severity] || (a.direction === b.direction ? b.needed - a.needed : a.direction === 'under' ? -1 : 1));
}

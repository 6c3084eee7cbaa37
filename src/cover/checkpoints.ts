/**
 * Checkpoint learning: pools of checkpoints per quality tier, resolved against the files the servers have,
 * and a batch allocation that learns from what people select.
 *
 * Each arm (a checkpoint, or a LoRA combination for a coin or style) has a Beta(1 + selected, 1 + total -
 * selected) posterior over its selection rate. Explore mode spreads a batch over 2-3 arms: each draft goes to
 * the arm whose posterior draw is highest (Thompson sampling), so better arms get more drafts while weaker
 * ones still get a few (a floor of 10% each), and with no data at all the split is even (20 -> 7/7/6).
 * Quick mode puts every draft on the arm with the best posterior mean.
 */
import { LoraloopError } from '../core/errors.js';
import type { BaseModel } from './backends/types.js';
import { createRng, type Rng } from '../core/random.js';

/** A tier: the base model family and the checkpoint names (fuzzy patterns) in preference order. */
export interface TierSpec {
  base_model: BaseModel;
  checkpoints: string[];
}

/** Default pools (issue 5). Override with LORALOOP_CHECKPOINT_TIERS. */
export const DEFAULT_TIERS: Readonly<Record<string, TierSpec>> = {
  sd15_draft: { base_model: 'sd15', checkpoints: ['beenyouLite', 'realisticVision', 'dreamshaper'] },
  sdxl_standard: { base_model: 'sdxl', checkpoints: ['epicrealismXL', 'realvisxl', 'juggernautXL'] },
};
export const DEFAULT_TIER = 'sd15_draft';

/**
 * Parse `sd15_draft=beenyouLite,realisticVision;sdxl_standard:sdxl=epicrealismXL,...` (tier names; an optional
 * `:family` after the name, else inferred from the name: flux, sdxl/xl, else sd15). Tiers given replace the
 * defaults of the same name; others keep their defaults.
 */
export function parseTiers(spec: string | undefined): Record<string, TierSpec> {
  const out: Record<string, TierSpec> = { ...DEFAULT_TIERS };
  if (!spec?.trim()) return out;
  for (const part of spec.split(';')) {
    if (!part.trim()) continue;
    const m = /^\s*([a-z0-9_-]+)(?::(sd15|sdxl|flux))?\s*=\s*(.+)$/i.exec(part);
    if (!m?.[1] || !m[3]) {
      throw new LoraloopError('CONFIG_INVALID', `LORALOOP_CHECKPOINT_TIERS: "${part.trim()}" is not "tier=name,name".`, {
        hint: 'Example: sd15_draft=beenyouLite,realisticVision;sdxl_standard=epicrealismXL,juggernautXL',
      });
    }
    const name = m[1];
    const family = (m[2] as BaseModel | undefined) ?? (/flux/i.test(name) ? 'flux' : /xl/i.test(name) ? 'sdxl' : 'sd15');
    out[name] = { base_model: family, checkpoints: m[3].split(',').map((s) => s.trim()).filter(Boolean) };
  }
  return out;
}

/** Lower-case letters and digits of a file's base name without its extension. */
export function normalizeModelName(name: string): string {
  const base = name.split(/[\\/]/).pop() ?? name;
  return base.replace(/\.(safetensors|ckpt|pt|pt2|bin|pth|pkl|sft)$/i, '').toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * The file in `available` that a pattern such as `realisticVision` means (`realisticVisionV60B1_v51VAE.safetensors`):
 * exact normalised name, then a file whose name starts with the pattern, then one that contains it; among
 * several, the shortest name (the least decorated). Undefined when none fits.
 */
export function fuzzyMatchModel(pattern: string, available: readonly string[]): string | undefined {
  const p = normalizeModelName(pattern);
  if (!p) return undefined;
  const scored = available
    .map((file) => {
      const n = normalizeModelName(file);
      const rank = n === p ? 0 : n.startsWith(p) ? 1 : n.includes(p) ? 2 : -1;
      return { file, n, rank };
    })
    .filter((x) => x.rank >= 0)
    .sort((a, b) => a.rank - b.rank || a.n.length - b.n.length || a.file.localeCompare(b.file));
  return scored[0]?.file;
}

/** A tier resolved against what the servers have. */
export interface ResolvedTier {
  tier: string;
  base_model: BaseModel;
  /** Pattern -> file, in pool order, only those found. */
  checkpoints: Array<{ pattern: string; file: string }>;
  /** Patterns no server has. */
  missing: string[];
}

export function resolveTier(tier: string, tiers: Record<string, TierSpec>, available: readonly string[]): ResolvedTier {
  const spec = tiers[tier];
  if (!spec) {
    throw new LoraloopError('INVALID_INPUT', `Unknown checkpoint tier "${tier}".`, { hint: `Known tiers: ${Object.keys(tiers).join(', ')}.` });
  }
  const found: ResolvedTier['checkpoints'] = [];
  const missing: string[] = [];
  for (const pattern of spec.checkpoints) {
    const file = fuzzyMatchModel(pattern, available);
    if (file && !found.some((f) => f.file === file)) found.push({ pattern, file });
    else if (!file) missing.push(pattern);
  }
  return { tier, base_model: spec.base_model, checkpoints: found, missing };
}

// ---------------------------------------------------------------------------------------------------------
// Beta posteriors and Thompson sampling

/** Standard normal by Box-Muller. */
function normal(rng: Rng): number {
  const u = Math.max(rng.next(), 1e-12);
  const v = rng.next();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Gamma(shape, 1) by Marsaglia-Tsang (with the shape < 1 boost). */
export function gammaSample(shape: number, rng: Rng): number {
  if (shape < 1) return gammaSample(shape + 1, rng) * Math.pow(Math.max(rng.next(), 1e-12), 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng.next();
    if (u < 1 - 0.0331 * x ** 4) return d * v;
    if (Math.log(Math.max(u, 1e-300)) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** One draw from Beta(a, b). */
export function betaSample(a: number, b: number, rng: Rng): number {
  const x = gammaSample(a, rng);
  const y = gammaSample(b, rng);
  return x / (x + y);
}

/** An arm's evidence: how often drafts made with it were selected. */
export interface ArmStats {
  arm: string;
  selected: number;
  total: number;
}

/** Posterior mean of the selection rate under a uniform prior. */
export const posteriorMean = (s: ArmStats): number => (s.selected + 1) / (s.total + 2);

export type BatchMode = 'explore' | 'quick';

/** How many drafts each arm gets, in the order the arms were chosen. */
export interface Allocation {
  arm: string;
  count: number;
}

export interface AllocateOptions {
  /** Arms a batch spreads over in explore mode (default 3). */
  maxArms?: number;
  /** Share of the batch each explored arm gets at least (default 0.1). */
  floorShare?: number;
  rng?: Rng;
  seed?: number;
}

/**
 * Split `count` drafts over the arms (pool order = preference order for ties). See the file comment.
 * Arms missing from the stats count as fresh (0 of 0).
 */
export function allocate(arms: readonly ArmStats[], count: number, mode: BatchMode, opts: AllocateOptions = {}): Allocation[] {
  if (arms.length === 0 || count <= 0) return [];
  const rng = opts.rng ?? createRng(opts.seed ?? Date.now());
  if (mode === 'quick' || arms.length === 1) {
    let best = arms[0] as ArmStats;
    for (const a of arms) if (posteriorMean(a) > posteriorMean(best)) best = a;
    return [{ arm: best.arm, count }];
  }
  const k = Math.min(opts.maxArms ?? 3, arms.length, count);
  // Which arms: with more candidates than slots, one Thompson draw each and the top k (pool order on ties).
  let chosen = [...arms];
  if (arms.length > k) {
    const draws = arms.map((a, i) => ({ a, i, d: betaSample(a.selected + 1, a.total - a.selected + 1, rng) }));
    chosen = draws
      .sort((x, y) => y.d - x.d || x.i - y.i)
      .slice(0, k)
      .sort((x, y) => x.i - y.i)
      .map((x) => x.a);
  }
  const same = chosen.every((a) => a.selected === chosen[0]?.selected && a.total === chosen[0]?.total);
  const counts = chosen.map(() => 0);
  if (same) {
    for (let i = 0; i < count; i++) counts[i % k] = (counts[i % k] ?? 0) + 1;
    // i % k fills round-robin: 20 over 3 -> 7/7/6.
  } else {
    for (let i = 0; i < count; i++) {
      let bi = 0;
      let bd = -1;
      chosen.forEach((a, j) => {
        const d = betaSample(a.selected + 1, a.total - a.selected + 1, rng);
        if (d > bd) {
          bd = d;
          bi = j;
        }
      });
      counts[bi] = (counts[bi] ?? 0) + 1;
    }
    // Keep exploring: every chosen arm gets at least a floor, taken from the largest.
    const floor = Math.max(1, Math.floor(count * (opts.floorShare ?? 0.1)));
    if (floor * k <= count) {
      for (let j = 0; j < k; j++) {
        while ((counts[j] ?? 0) < floor) {
          let big = 0;
          counts.forEach((c, x) => {
            if (c > (counts[big] ?? 0)) big = x;
          });
          counts[big] = (counts[big] ?? 0) - 1;
          counts[j] = (counts[j] ?? 0) + 1;
        }
      }
    }
  }
  return chosen.map((a, j) => ({ arm: a.arm, count: counts[j] ?? 0 })).filter((x) => x.count > 0);
}

/** Expand an allocation into one arm per draft: blocks (`AAABBC`) or round-robin (`ABCABA`). */
export function expandAllocation(alloc: readonly Allocation[], order: 'blocks' | 'round-robin'): string[] {
  if (order === 'blocks') return alloc.flatMap((a) => Array.from({ length: a.count }, () => a.arm));
  const left = alloc.map((a) => ({ ...a }));
  const out: string[] = [];
  while (left.some((a) => a.count > 0)) {
    for (const a of left) {
      if (a.count > 0) {
        out.push(a.arm);
        a.count -= 1;
      }
    }
  }
  return out;
}

/** Selection rate rounded for display: selected / total, 0 when nothing was shown. */
export function selectionRate(s: { selected: number; total: number }): number {
  return s.total > 0 ? Math.round((s.selected / s.total) * 10000) / 10000 : 0;
}

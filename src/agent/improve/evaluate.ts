/**
 * Evaluating a candidate against the current version: every prompt of the fixed suite is made with each
 * version (same title, same seed) and judged by the critic; the candidate is promoted only when its mean
 * score beats the current one by a margin.
 *
 * The evaluation score is the critic's, minus the checks that depend on history: `near_duplicate` and
 * `palette_novelty` compare a cover with the covers made just before it, and in an evaluation the cover made
 * just before is the same prompt with the other version, so they would punish whichever version went second.
 * The remaining checks are weighted as the metric critic weighs them (logo 3, title contrast 1.5, text fits
 * 1.5, others 1) and a failed logo caps the score at 0.3, as it does in the critic.
 */
import { LoraloopError } from '../../core/errors.js';
import type { CoverSize } from '../../cover/sizes.js';
import { readStoredBlob } from '../../store/stored-blob.js';
import type { ToolContext } from '../../tools/types.js';
import { callToolOk } from './call.js';
import type { EvaluationSample, EvaluationSubject, Evaluator, SuitePrompt } from './types.js';
import { promptKey } from './suite.js';

/** Promote only when the candidate's mean evaluation score is at least this much higher (0..1 scale). */
export const DEFAULT_PROMOTE_MARGIN = 0.03;
/** Checks left out of the evaluation score (see module comment). */
export const HISTORY_CHECKS: ReadonlySet<string> = new Set(['near_duplicate', 'palette_novelty']);
const CHECK_WEIGHTS: Record<string, number> = { logo: 3, title_contrast: 1.5, text_fits: 1.5 };
const LOGO_FAIL_CAP = 0.3;


/** The evaluation score of one critique (see module comment). */
export function evaluationScore(checks: Array<{ name: string; passed: boolean }>): number {
  let sum = 0;
  let wsum = 0;
  for (const c of checks) {
    if (HISTORY_CHECKS.has(c.name)) continue;
    const w = CHECK_WEIGHTS[c.name] ?? 1;
    wsum += w;
    if (c.passed) sum += w;
  }
  let score = wsum ? sum / wsum : 0;
  if (checks.some((c) => c.name === 'logo' && !c.passed)) score = Math.min(score, LOGO_FAIL_CAP);
  return Math.round(score * 1000) / 1000;
}

/** Options of the default evaluator. */
export interface ToolEvaluatorOptions {
  /** Cover size (default the social card 1200x630). */
  size?: CoverSize;
  /**
   * cover_generate backend (default local). The local renderer ignores LoRAs, so only comfyui or replicate
   * can show a version's effect (cover_generate takes `loras: [{name, version, strength}]`, so a candidate
   * that is not active yet can be drawn with). On local the candidate's samples say `applied: false` and the
   * run keeps the current version (no evidence of improvement).
   */
  backend?: 'local' | 'comfyui' | 'replicate';
  /**
   * Post-process a cover's PNG before the critic sees it. This is the seam for a stand-in of a version's
   * effect on pixels (tests: the emulated trainer's LoRA cannot change the local renderer's output); when it
   * is given it is what applies the version, so samples count as applied. Every sample is then judged as a
   * file (by path), so both versions are judged the same way.
   */
  transform?: (png: Buffer, subject: EvaluationSubject, prompt: SuitePrompt) => Promise<Buffer>;
}

/**
 * Without an explicit backend: a GPU backend (ComfyUI, else Replicate) when one is configured, since
 * cover_generate can draw with a named LoRA version there; otherwise the local renderer, which costs nothing
 * but ignores LoRAs (its candidate samples are then not applied, so nothing is promoted on them).
 */
function defaultBackend(ctx: ToolContext): 'local' | 'comfyui' | 'replicate' {
  const c = ctx.services.config;
  if (c.comfyuiUrls.length) return 'comfyui';
  if (c.replicate.apiToken) return 'replicate';
  return 'local';
}

/** The default evaluator: cover_generate with the version, then cover_critique. */
export function createToolEvaluator(opts: ToolEvaluatorOptions = {}): Evaluator {
  return {
    name: `cover_generate${opts.backend ? ` (${opts.backend})` : ''}${opts.transform ? ' + transform' : ''} + cover_critique`,
    async sample(ctx: ToolContext, subject: EvaluationSubject, prompt: SuitePrompt): Promise<EvaluationSample> {
      const { lora, version } = subject;
      const strength = lora.default_strength ?? 0.85;
      const backend = opts.backend ?? defaultBackend(ctx);
      const withVersion = backend !== 'local';
      const made = await callToolOk(ctx, 'cover_generate', {
        title: prompt.title,
        seed: prompt.seed,
        size: opts.size ?? '1200x630',
        backend,
        ...(backend !== 'local' ? { loras: [{ name: lora.name, strength, ...(withVersion ? { version: version.version } : {}) }] } : {}),
      });
      // Applied: the transform stands in for the version; else the generator must have drawn with this very version
      // (given explicitly, or routed to it because it is the active one).
      const routed = made.lora?.name === lora.name && made.lora?.version === version.version;
      const applied = Boolean(opts.transform) || (backend !== 'local' && (withVersion || routed));
      let target: { cover_id: string } | { path: string } = { cover_id: made.cover_id };
      let judged = made.path;
      if (opts.transform) {
        const cover = await ctx.services.store.covers.get(made.cover_id);
        if (!cover) throw new LoraloopError('NOT_FOUND', `cover_generate reported cover ${made.cover_id}, but it is not in the store.`);
        const out = await opts.transform(await readStoredBlob(ctx.services.store.blobs, { sha256: cover.blob_sha256, path: cover.blob_path }), subject, prompt);
        const blob = await ctx.services.store.blobs.put(out, 'png');
        judged = blob.path;
        target = { path: blob.path };
      }
      const coin = lora.coins[0];
      const crit = await callToolOk(ctx, 'cover_critique', { ...target, vision: 'auto', ...(coin ? { expect: { coin } } : {}) });
      return {
        prompt: promptKey(prompt),
        role: subject.role,
        score: evaluationScore(crit.checks),
        critic_score: crit.score,
        cover_id: made.cover_id,
        path: judged,
        applied,
        failed_checks: crit.checks.filter((c) => !c.passed && !HISTORY_CHECKS.has(c.name)).map((c) => c.name),
      };
    },
  };
}

/** Mean score of samples (0 when there are none). */
export function meanScore(samples: EvaluationSample[]): number {
  if (!samples.length) return 0;
  return Math.round((samples.reduce((a, s) => a + s.score, 0) / samples.length) * 1000) / 1000;
}

/** The decision on a candidate. */
export interface Verdict {
  promote: boolean;
  /** False when the comparison proves nothing (no scores, or the candidate could not be drawn with). */
  evaluated: boolean;
  current: number;
  candidate: number;
  delta: number;
  margin: number;
  reason: string;
}

/** Compare the two sets of samples. */
export function decide(current: EvaluationSample[], candidate: EvaluationSample[], margin: number): Verdict {
  const cur = meanScore(current);
  const cand = meanScore(candidate);
  const delta = Math.round((cand - cur) * 1000) / 1000;
  const notApplied = candidate.filter((s) => !s.applied).length;
  if (!candidate.length || !current.length) {
    return { promote: false, evaluated: false, current: cur, candidate: cand, delta, margin, reason: 'the evaluation produced no scores, so the current version stays' };
  }
  if (notApplied) {
    return {
      promote: false,
      evaluated: false,
      current: cur,
      candidate: cand,
      delta,
      margin,
      reason: `the generator did not use the candidate version for ${notApplied} of ${candidate.length} covers, so the comparison proves nothing; the current version stays and the candidate waits for lora_activate`,
    };
  }
  if (delta >= margin) {
    return { promote: true, evaluated: true, current: cur, candidate: cand, delta, margin, reason: `the candidate scores ${cand.toFixed(3)} against ${cur.toFixed(3)} (+${delta.toFixed(3)}, margin ${margin})` };
  }
  return {
    promote: false,
    evaluated: true,
    current: cur,
    candidate: cand,
    delta,
    margin,
    reason: `the candidate scores ${cand.toFixed(3)} against ${cur.toFixed(3)} (${delta >= 0 ? '+' : ''}${delta.toFixed(3)}), less than the margin of ${margin}; the current version stays`,
  };
}

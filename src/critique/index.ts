/**
 * `critiqueCover`: the one entry the tool, the agent, the Slack bot and the nightly run call.
 * Metric critic always; vision critic when a model is configured (or asked for); combined; stored.
 */
import { readFile } from 'node:fs/promises';
import type { Logger } from '../core/logger.js';
import type { PathGuard } from '../core/paths.js';
import { LoraloopError } from '../core/errors.js';
import { defaultIconSet } from '../cover/render/icons.js';
import { decodeForMetrics, decodeImage } from '../image/decode.js';
import { measureImage } from '../image/metrics.js';
import type { CoverRecord } from '../store/repos/covers.js';
import { readStoredBlob } from '../store/stored-blob.js';
import { openAIConfigured, type OpenAIDeps } from '../clients/openai.js';
import { combineCritiques } from './combine.js';
import { createLogoMatcher, type LogoMatcher, type LogoScore } from './logo-match.js';
import { fingerprintOf, metricCritique, type Check, type Expectation, type MetricDeps } from './metric.js';
import { visionCritique, type VisionOutcome } from './vision.js';

export type { Check, Expectation } from './metric.js';
export type { VisionOutcome } from './vision.js';

/** When to ask the vision model: when configured (auto), never (off), or fail without one (required). */
export type VisionMode = 'auto' | 'off' | 'required';

/** What critiquing needs: the metric critic's, the vision endpoint's, the allowed roots (a path to judge), a logger. */
export type CritiqueDeps = MetricDeps & OpenAIDeps & { paths: PathGuard; logger: Logger };

export interface CritiqueOptions {
  vision?: VisionMode;
  signal?: AbortSignal;
}

/** The verdict on one cover or image. */
export interface CritiqueResult {
  critique_id: string;
  cover_id: string | null;
  path: string;
  expected_coin: string | null;
  /** Combined score 0..1 (the metric score when there are no vision findings). */
  score: number;
  metric_score: number;
  checks: Check[];
  vision: VisionOutcome;
  /** Sentences naming where the two critics disagree (and which verdict counts). */
  disagreements: string[];
  /** The best logo matches, for the curious and for the agent's trail. */
  logos: LogoScore[];
}

let matcher: LogoMatcher | undefined;
/** The process-wide logo matcher (templates are rendered once, on first use). */
export function logoMatcher(): LogoMatcher {
  matcher ??= createLogoMatcher(defaultIconSet());
  return matcher;
}

/** Find the cover by id, or resolve a path under the allowed roots. */
async function locate(s: CritiqueDeps, coverIdOrPath: string): Promise<{ cover: CoverRecord | null; path: string }> {
  const cover = await s.store.covers.get(coverIdOrPath);
  if (cover) return { cover, path: cover.blob_path };
  if (/^cov_[0-9a-f-]+$/i.test(coverIdOrPath)) {
    throw new LoraloopError('NOT_FOUND', `There is no cover ${coverIdOrPath}.`, { hint: 'Pass a cover_id from cover_generate or cover_make, or a path to an image file.' });
  }
  return { cover: null, path: await s.paths.resolve(coverIdOrPath, { mustExist: true }) };
}

/** Critique a stored cover (by id) or an image file (by path), store the verdict and return it. */
export async function critiqueCover(s: CritiqueDeps, coverIdOrPath: string, expect: Expectation = {}, opts: CritiqueOptions = {}): Promise<CritiqueResult> {
  const mode = opts.vision ?? 'auto';
  if (mode === 'required' && !openAIConfigured(s)) {
    throw new LoraloopError('NOT_CONFIGURED', 'A vision critique was required, but OPENAI_API_KEY is not set.', {
      hint: 'Set OPENAI_API_KEY (and OPENAI_BASE_URL / LORALOOP_VISION_MODEL for another endpoint), or use vision "auto".',
    });
  }
  const { cover, path } = await locate(s, coverIdOrPath);
  let bytes: Buffer;
  if (cover) {
    // By hash: the recorded path is the host's that made the cover.
    bytes = await readStoredBlob(s.store.blobs, { sha256: cover.blob_sha256, path: cover.blob_path });
  } else {
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw new LoraloopError('NOT_FOUND', `Cannot read ${path}: ${(e as Error).message}.`, { hint: 'Check that the file exists and is readable.', cause: e });
    }
  }
  const [full, small] = await Promise.all([decodeImage(bytes), decodeForMetrics(bytes)]);
  const fingerprint = fingerprintOf(small);
  if (cover) await s.store.critiques.setFingerprint(cover.id, fingerprint);
  const blur = measureImage({ data: small.data, width: small.width, height: small.height, channels: 3 }).blur;
  const metric = await metricCritique(s, logoMatcher(), { cover, path, image: { data: full.data, width: full.width, height: full.height }, fingerprint, blur }, expect);

  let vision: VisionOutcome;
  if (mode === 'off') vision = { status: 'skipped', reason: 'vision critique turned off for this call' };
  else if (!openAIConfigured(s)) vision = { status: 'skipped', reason: 'no vision model configured (OPENAI_API_KEY is not set)' };
  else {
    vision = await visionCritique(
      s,
      bytes,
      { coin: metric.expected_coin, title: expect.title ?? cover?.title ?? null, style: expect.style ?? null },
      opts.signal,
    );
    if (vision.status === 'failed') s.logger.warn('vision critique failed; using the metric critic alone', { error: vision.error });
  }
  const combined = combineCritiques(metric.score, metric.checks, metric.expected_coin, vision);
  const stored = await s.store.critiques.insert({
    cover_id: cover?.id ?? null,
    path,
    score: combined.score,
    metric_score: metric.score,
    checks: metric.checks,
    vision: vision.status === 'ok' ? { model: vision.model, ...vision.findings } : null,
    expect: { ...expect, coin: metric.expected_coin },
  });
  return {
    critique_id: stored.id,
    cover_id: cover?.id ?? null,
    path,
    expected_coin: metric.expected_coin,
    score: combined.score,
    metric_score: metric.score,
    checks: metric.checks,
    vision,
    disagreements: combined.disagreements,
    logos: metric.logos.slice(0, 3),
  };
}

/** One paragraph for people: the score, the failed checks, the vision verdict and any disagreement. */
export function critiqueReasoning(r: CritiqueResult): string {
  const failed = r.checks.filter((c) => !c.passed);
  const parts = [
    `Score ${r.score.toFixed(2)}${r.vision.status === 'ok' ? ` (metric ${r.metric_score.toFixed(2)}, vision ${r.vision.findings.score.toFixed(2)})` : ''}.`,
    failed.length === 0 ? `All ${r.checks.length} checks passed.` : `Failed: ${failed.map((c) => `${c.name}: ${c.detail}`).join(' ')}`,
  ];
  const logo = r.checks.find((c) => c.name === 'logo');
  if (logo?.passed) parts.push(logo.detail);
  if (r.vision.status === 'ok') {
    const f = r.vision.findings;
    parts.push(`Vision (${r.vision.model}): ${f.issues.length ? f.issues.join(' ') : 'no issues.'}`);
  } else if (r.vision.status === 'failed') parts.push(`The vision critic failed (${r.vision.error}); the metric critic decided alone.`);
  else parts.push(`Metric critic only: ${r.vision.reason}.`);
  parts.push(...r.disagreements);
  return parts.join(' ');
}

/**
 * The nightly improvement run: gather what is new, curate each LoRA's training set, find its gaps, retrain
 * the LoRAs that changed enough, evaluate each candidate against the current version on the fixed suite,
 * promote only what is better by a margin, and write a report.
 *
 * Idempotent and resumable:
 * - one run at a time: the `improve_run` lease in the store (renewed while the run lives; a run that loses it
 *   stops at the next step boundary);
 * - every step is persisted (src/store/repos/improve.ts); a run left `running` by a process that died is
 *   continued by the next one, skipping finished steps and following its training job rather than starting
 *   another;
 * - a dry run takes no lease and writes nothing: it says what it would do.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Services } from '../../tools/services.js';
import { LoraloopError, isLoraloopError } from '../../core/errors.js';
import { activateVersion } from '../../lora/registry.js';
import type { LoraRecord, LoraVersionRecord } from '../../store/repos/loras.js';
import type { ToolContext } from '../../tools/types.js';
import { callTool, nestedContext } from './call.js';
import { applyCuration, measureChange, planCuration, trainedSetKey, type ChangeMeasure, type CurationResult } from './curate.js';
import { createToolEvaluator, decide, DEFAULT_PROMOTE_MARGIN, type Verdict } from './evaluate.js';
import type { ImproveRepo, ImproveRun } from '../../store/repos/improve.js';
import { writeReport } from './report.js';
import { DEFAULT_PROMPTS_PER_CATEGORY, promptKey, promptSuite } from './suite.js';
import { describeLora, type FeedNote, type GapNote, type LoraSummary, type RunSummary } from './summary.js';
import { chooseBackend, followTraining, startTraining, type TrainStepData } from './train.js';
import type { EvaluationSample, ImproveOptions, LoraOutcome, RunStep } from './types.js';

export const IMPROVE_LEASE = 'improve_run';
export const DEFAULT_LEASE_TTL_MS = 10 * 60_000;
const EPOCH = '1970-01-01T00:00:00.000Z';

export interface ImproveInput {
  dryRun?: boolean;
  /** LoRA ids or names; default every project. */
  loras?: string[];
}

function ownerId(o: ImproveOptions): string {
  return o.ownerId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
}

async function activeVersionOf(s: Services, lora: LoraRecord): Promise<LoraVersionRecord | undefined> {
  return lora.active_version === null ? undefined : s.store.loras.getVersion(lora.id, lora.active_version);
}

async function selectLoras(s: Services, names: string[] | null | undefined): Promise<LoraRecord[]> {
  if (!names || !names.length) return s.store.loras.list();
  const out: LoraRecord[] = [];
  for (const n of names) {
    const l = await s.store.loras.find(n);
    if (!l) throw new LoraloopError('NOT_FOUND', `No LoRA project "${n}".`, { hint: 'Call lora_list to see the projects, or leave loras out to improve every project.' });
    out.push(l);
  }
  return out;
}

/** What the gather step finds (also what a dry run reports). */
interface GatherData extends Record<string, unknown> {
  feeds: FeedNote[];
  /** Dry run: images the feeds would add, per project. */
  would_add_by_lora: Record<string, number>;
  new_ratings: number;
  ratings_by_lora: Record<string, number>;
  new_images: number;
  images_by_lora: Record<string, number>;
}

async function gather(ctx: ToolContext, since: string, dryRun: boolean): Promise<GatherData> {
  const s = ctx.services;
  const feeds: FeedNote[] = [];
  const wouldAdd: Record<string, number> = {};
  for (const feed of s.config.feeds) {
    const input = /^https?:\/\//i.test(feed) ? { feed_url: feed } : { dir: feed };
    const r = await callTool(ctx, 'dataset_collect', { ...input, dry_run: dryRun });
    if (r.success) {
      const d = r.data;
      for (const x of d.results) if (x.status === 'would_add' && x.lora_id) wouldAdd[x.lora_id] = (wouldAdd[x.lora_id] ?? 0) + 1;
      feeds.push({ source: feed, added: d.added, would_add: d.results.filter((x) => x.status === 'would_add').length, error: null });
    } else {
      feeds.push({ source: feed, added: 0, would_add: 0, error: r.reasoning });
    }
  }
  const ratings = await s.store.ratings.since(since);
  const ratingsByLora: Record<string, number> = {};
  for (const r of ratings) if (r.lora) ratingsByLora[r.lora] = (ratingsByLora[r.lora] ?? 0) + 1;
  const imagesByLora: Record<string, number> = {};
  let newImages = 0;
  for (const l of await s.store.loras.list()) {
    const n = (await s.store.loras.listImages(l.id, { includeExcluded: true })).filter((i) => i.created_at > since).length;
    if (n) imagesByLora[l.id] = n;
    newImages += n;
  }
  return { feeds, would_add_by_lora: wouldAdd, new_ratings: ratings.length, ratings_by_lora: ratingsByLora, new_images: newImages, images_by_lora: imagesByLora };
}

interface AnalyzeData extends Record<string, unknown> {
  gaps: GapNote[];
  volume_level: string | null;
  usable: number | null;
  error: string | null;
}

async function analyze(ctx: ToolContext, lora: LoraRecord): Promise<AnalyzeData> {
  const r = await callTool(ctx, 'dataset_analyze', { lora_id: lora.id });
  if (!r.success) return { gaps: [], volume_level: null, usable: null, error: r.reasoning };
  const d = r.data;
  return { gaps: d.gaps.map((g) => ({ category: g.category, direction: g.direction, severity: g.severity, advice: g.advice })), volume_level: d.volume_level, usable: d.usable, error: null };
}

interface DecideData extends Record<string, unknown> {
  retrain: boolean;
  outcome: LoraOutcome | null;
  reason: string;
  change: ChangeMeasure | null;
  backend: string | null;
  current_version: number | null;
}

interface EvaluateData extends Record<string, unknown> {
  current_version: number;
  candidate_version: number;
  samples: EvaluationSample[];
}

interface PromoteData extends Record<string, unknown> {
  verdict: Verdict;
  promoted: boolean;
}

/** The steps of one run, with persistence (or none, for a dry run). */
class Steps {
  constructor(
    private readonly repo: ImproveRepo | null,
    private readonly runId: string | null,
  ) {}
  async done<D>(loraId: string, step: RunStep): Promise<D | undefined> {
    if (!this.repo || !this.runId) return undefined;
    const st = await this.repo.step<D>(this.runId, loraId, step);
    return st && (st.status === 'done' || st.status === 'skipped') ? st.data : undefined;
  }
  async running<D>(loraId: string, step: RunStep): Promise<D | undefined> {
    if (!this.repo || !this.runId) return undefined;
    const st = await this.repo.step<D>(this.runId, loraId, step);
    return st?.status === 'running' ? st.data : undefined;
  }
  async put(loraId: string, step: RunStep, status: 'running' | 'done' | 'skipped' | 'failed', data: Record<string, unknown>): Promise<void> {
    if (this.repo && this.runId) await this.repo.putStep(this.runId, loraId, step, status, data);
  }
  /** Run a step once: a finished step returns its stored data. */
  async once<D extends Record<string, unknown>>(loraId: string, step: RunStep, fn: () => Promise<D>): Promise<D> {
    const prev = await this.done<D>(loraId, step);
    if (prev) return prev;
    const data = await fn();
    await this.put(loraId, step, 'done', data);
    return data;
  }
}

function emptySummary(lora: LoraRecord, gatherData: GatherData): LoraSummary {
  return {
    lora_id: lora.id,
    name: lora.name,
    outcome: 'skipped',
    reason: '',
    new_images: gatherData.images_by_lora[lora.id] ?? 0,
    new_ratings: gatherData.ratings_by_lora[lora.name] ?? 0,
    positives_added: 0,
    negatives_excluded: 0,
    gaps: [],
    change: null,
    backend: null,
    job_id: null,
    current_version: null,
    candidate_version: null,
    verdict: null,
    samples: [],
  };
}

interface RunEnv {
  ctx: ToolContext;
  steps: Steps;
  options: ImproveOptions;
  dryRun: boolean;
  gather: GatherData;
  progress: (message: string) => void;
}

/** Everything for one LoRA. Returns its summary; throws only for cancellation or a lost lease. */
async function improveLora(env: RunEnv, loraRef: LoraRecord): Promise<LoraSummary> {
  const { ctx, steps, dryRun } = env;
  const s = ctx.services;
  const lora = (await s.store.loras.get(loraRef.id)) ?? loraRef;
  const sum = emptySummary(lora, env.gather);
  const active = await activeVersionOf(s, lora);
  sum.current_version = active?.version ?? null;
  if (!active) {
    sum.reason = 'no active version yet: train it once with lora_train (the nightly run improves LoRAs that are in use)';
    await steps.put(lora.id, 'decide', 'skipped', { retrain: false, outcome: 'skipped', reason: sum.reason, change: null, backend: null, current_version: null });
    return sum;
  }

  // Curate: positives in, negatives out.
  env.progress(`${lora.name}: curating the training set`);
  const plan = await planCuration(s, lora);
  let curated: CurationResult | undefined;
  if (dryRun) {
    sum.positives_added = plan.add.length;
    sum.negatives_excluded = plan.exclude.length;
  } else {
    const data = await steps.once(lora.id, 'curate', async () => ({ plan, result: await applyCuration(s, lora, plan, ctx.signal) }));
    curated = data.result;
    sum.positives_added = curated.added.length;
    sum.negatives_excluded = curated.excluded.length;
  }

  // Gaps.
  env.progress(`${lora.name}: analysing the dataset`);
  const analysis = dryRun ? await analyze(ctx, lora) : await steps.once(lora.id, 'analyze', () => analyze(ctx, lora));
  sum.gaps = analysis.gaps;

  // Decide.
  const decision = dryRun
    ? await decideFor(s, lora, active, { added: plan.add.length + (env.gather.would_add_by_lora[lora.id] ?? 0), removed: plan.exclude.map((e) => e.image_id) }, true)
    : await steps.once(lora.id, 'decide', async () => decideFor(s, lora, active, {}, false));
  sum.change = decision.change;
  sum.backend = decision.backend;
  if (!decision.retrain || dryRun) {
    sum.outcome = decision.outcome ?? 'unchanged';
    sum.reason = decision.reason;
    return sum;
  }

  // Train (or follow the training a killed run started).
  const backend = decision.backend as TrainStepData['backend'];
  let train = await steps.done<TrainStepData>(lora.id, 'train');
  if (!train) {
    let data: TrainStepData = (await steps.running<TrainStepData>(lora.id, 'train')) ?? {
      backend,
      requested_at: s.now().toISOString(),
      image_ids: (await s.store.loras.listImages(lora.id)).map((i) => i.id),
    };
    await steps.put(lora.id, 'train', 'running', data);
    const jobId = await startTraining(ctx, lora, data, async (d) => {
      data = d;
      await steps.put(lora.id, 'train', 'running', d);
    });
    sum.job_id = jobId;
    env.progress(`${lora.name}: training on ${backend} (job ${jobId})`);
    const waitSeconds = env.options.statusWaitSeconds ?? 600;
    const end = await followTraining(ctx, jobId, waitSeconds, (m) => env.progress(`${lora.name}: ${m}`));
    train = { ...data, job_id: jobId, status: end.status, version: end.version, error: end.error };
    if (end.status === 'ready' && end.version !== null) {
      await s.store.kv.set(trainedSetKey(lora.id), data.image_ids);
      await steps.put(lora.id, 'train', 'done', train);
    } else {
      await steps.put(lora.id, 'train', 'failed', train);
    }
  }
  sum.job_id = train.job_id ?? null;
  if (train.status !== 'ready' || train.version === null || train.version === undefined) {
    sum.outcome = 'failed';
    sum.reason = `the training ${train.job_id ?? ''} ended ${train.status ?? 'without a result'}${train.error ? `: ${train.error}` : ''}; the current version stays`;
    return sum;
  }
  const candidate = await s.store.loras.getVersion(lora.id, train.version);
  sum.candidate_version = train.version;
  if (!candidate) {
    sum.outcome = 'failed';
    sum.reason = `v${train.version} is not in the registry any more; the current version stays`;
    return sum;
  }

  // Evaluate both versions on the fixed suite, persisting each sample so a resumed run skips it.
  const ev = await evaluate(env, lora, active, candidate);
  sum.samples = ev.samples;

  // Promote or keep.
  const margin = env.options.promoteMargin ?? DEFAULT_PROMOTE_MARGIN;
  const promo = await steps.once<PromoteData>(lora.id, 'promote', async () => {
    const verdict = decide(
      ev.samples.filter((x) => x.role === 'current'),
      ev.samples.filter((x) => x.role === 'candidate'),
      margin,
    );
    const fresh = await s.store.loras.get(lora.id);
    if (verdict.promote) {
      await activateVersion(s, lora.id, candidate.version, fresh?.default_strength ?? undefined);
    } else if (fresh?.active_version !== candidate.version) {
      // Measured worse: rejected, never picked up by "activate the latest ready version" (the registry keeps it
      // for the record). Not measured: a candidate, which lora_activate can still promote by its number.
      await s.store.loras.updateVersion(candidate.id, { status: verdict.evaluated ? 'rejected' : 'candidate' });
    }
    return { verdict, promoted: verdict.promote };
  });
  sum.verdict = promo.verdict;
  sum.outcome = promo.promoted ? 'promoted' : 'kept';
  sum.reason = promo.verdict.reason;
  return sum;
}

async function decideFor(
  s: Services,
  lora: LoraRecord,
  active: LoraVersionRecord,
  pending: { added?: number; removed?: string[] },
  dryRun: boolean,
): Promise<DecideData> {
  const change = await measureChange(s, lora, active, pending);
  const backend = chooseBackend(s, lora, active);
  const base = { change, backend, current_version: active.version };
  if (!change.enough) {
    return {
      ...base,
      retrain: false,
      outcome: 'unchanged',
      reason: `${change.changed} image${change.changed === 1 ? '' : 's'} changed since the ${change.baseline_from}, under the retraining threshold of ${change.threshold}; no retraining`,
    };
  }
  if (!backend) {
    return {
      ...base,
      retrain: false,
      outcome: 'no_backend',
      reason: `${change.changed} images changed (threshold ${change.threshold}), but no training backend is configured: set REPLICATE_API_TOKEN and LORALOOP_REPLICATE_DESTINATION (FLUX) or LORALOOP_KOHYA_CMD and LORALOOP_KOHYA_BASE_MODEL`,
    };
  }
  return {
    ...base,
    retrain: true,
    outcome: dryRun ? 'planned' : null,
    reason: `${change.changed} images changed (threshold ${change.threshold}): ${dryRun ? 'would retrain' : 'retraining'} on ${backend}, then evaluate against v${active.version}`,
  };
}

async function evaluate(env: RunEnv, lora: LoraRecord, current: LoraVersionRecord, candidate: LoraVersionRecord): Promise<EvaluateData> {
  const { ctx, steps } = env;
  const s = ctx.services;
  const done = await steps.done<EvaluateData>(lora.id, 'evaluate');
  if (done) return done;
  const data: EvaluateData = (await steps.running<EvaluateData>(lora.id, 'evaluate')) ?? { current_version: current.version, candidate_version: candidate.version, samples: [] };
  const evaluator = env.options.evaluator ?? createToolEvaluator();
  const coin = lora.coins[0];
  const subject = coin ? (s.coins.catalogue.bySymbol(coin)?.name ?? coin) : 'the market';
  const suite = promptSuite(subject, env.options.promptsPerCategory ?? DEFAULT_PROMPTS_PER_CATEGORY);
  const have = new Set(data.samples.map((x) => `${x.role}:${x.prompt}`));
  let n = 0;
  for (const prompt of suite) {
    for (const [role, version] of [['current', current], ['candidate', candidate]] as const) {
      n++;
      if (have.has(`${role}:${promptKey(prompt)}`)) continue;
      ctx.signal.throwIfAborted();
      env.progress(`${lora.name}: evaluating ${n}/${suite.length * 2} (${role} v${version.version}: ${prompt.title})`);
      try {
        data.samples.push(await evaluator.sample(ctx, { lora, version, role }, prompt));
      } catch (e) {
        if (!isLoraloopError(e) || e.code === 'CANCELED') throw e;
        // One failed cover scores zero for its version: a candidate that cannot be rendered is not better.
        data.samples.push({ prompt: promptKey(prompt), role, score: 0, critic_score: 0, cover_id: null, path: null, applied: true, failed_checks: [`error: ${e.message}`] });
      }
      await steps.put(lora.id, 'evaluate', 'running', data);
    }
  }
  await steps.put(lora.id, 'evaluate', 'done', data);
  return data;
}

/** Acquire the run lease and keep renewing it; abort when it is lost. */
async function holdLease(s: Services, owner: string, ttlMs: number): Promise<{ signal: AbortSignal; release: () => Promise<void> }> {
  if (!(await s.store.leases.acquire(IMPROVE_LEASE, owner, ttlMs))) {
    const h = await s.store.leases.holder(IMPROVE_LEASE);
    throw new LoraloopError('LEASE_HELD', `Another nightly run is in progress (held by ${h?.owner ?? 'another process'} until ${h?.expires_at ?? 'soon'}).`, {
      hint: 'Wait for it to finish (improve_status shows it); a run whose process died is taken over once its lease expires.',
    });
  }
  const ac = new AbortController();
  const timer = setInterval(() => {
    s.store.leases.acquire(IMPROVE_LEASE, owner, ttlMs).then(
      (held) => {
        if (!held) ac.abort(new LoraloopError('LEASE_HELD', 'The nightly run lost its lease to another process.'));
      },
      () => {
        // the store may be closing; the lease then simply lapses
      },
    );
  }, Math.max(50, Math.floor(ttlMs / 3)));
  timer.unref();
  return {
    signal: ac.signal,
    release: async () => {
      clearInterval(timer);
      try {
        await s.store.leases.release(IMPROVE_LEASE, owner);
      } catch {
        // closed store: the lease lapses
      }
    },
  };
}

/** Run (or resume) the nightly improvement. */
export async function improveRun(outer: ToolContext, input: ImproveInput, options: ImproveOptions = {}): Promise<RunSummary> {
  const s = outer.services;
  const dryRun = input.dryRun ?? false;
  const repo = s.store.improve;
  const progress = (message: string): void => {
    outer.progress({ progress: 0, message });
    outer.logger.info('improve', { message });
  };

  if (dryRun) {
    const ctx = nestedContext(outer, 'nightly');
    const since = (await repo.unfinished())?.since ?? (await repo.lastFinished())?.started_at ?? EPOCH;
    const g = await gather(ctx, since, true);
    const steps = new Steps(null, null);
    const env: RunEnv = { ctx, steps, options, dryRun, gather: g, progress };
    const loras: LoraSummary[] = [];
    for (const l of await selectLoras(s, input.loras)) loras.push(await improveLora(env, l));
    return { run_id: null, dry_run: true, resumed: false, since, feeds: g.feeds, new_ratings: g.new_ratings, new_images: g.new_images, loras, report_path: null };
  }

  // Unknown names fail before anything is written.
  await selectLoras(s, input.loras);
  const owner = ownerId(options);
  const lease = await holdLease(s, owner, options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS);
  const signal = AbortSignal.any([outer.signal, lease.signal]);
  const ctx = nestedContext(outer, 'nightly', { signal });
  let run: ImproveRun | undefined;
  try {
    const prior = await repo.unfinished();
    const resumed = Boolean(prior);
    run = prior
      ? await repo.update(prior.id, { owner })
      : await repo.create({ loras: input.loras?.length ? input.loras : null, since: (await repo.lastFinished())?.started_at ?? EPOCH, owner });
    if (resumed) progress(`resuming run ${run.id} started ${run.started_at}`);
    const steps = new Steps(repo, run.id);
    const g = await steps.once<GatherData>('', 'gather', () => gather(ctx, run!.since, false));
    const env: RunEnv = { ctx, steps, options, dryRun, gather: g, progress };
    const loras: LoraSummary[] = [];
    const targets = await selectLoras(s, run.loras);
    for (const [i, l] of targets.entries()) {
      outer.progress({ progress: i, total: targets.length, message: l.name });
      const summary = await improveLora(env, l);
      outer.logger.info('improve: lora done', { lora: l.name, outcome: summary.outcome });
      loras.push(summary);
    }
    const summary: RunSummary = { run_id: run.id, dry_run: false, resumed, since: run.since, feeds: g.feeds, new_ratings: g.new_ratings, new_images: g.new_images, loras, report_path: null };
    const report = await steps.once('', 'report', async () => ({ path: writeReport(s.config.home, summary) }));
    summary.report_path = report.path;
    await repo.update(run.id, { status: 'succeeded', summary: summary as unknown as Record<string, unknown>, report_path: report.path, finished_at: s.now().toISOString(), owner: null });
    outer.progress({ progress: targets.length, total: targets.length, message: 'done' });
    return summary;
  } catch (e) {
    // Stopped (SIGTERM, a lost lease): leave the run `running` so the next one continues it. Anything else fails the run.
    if (run && !signal.aborted) {
      await repo.update(run.id, { status: 'failed', error: e instanceof Error ? e.message : String(e), finished_at: s.now().toISOString(), owner: null });
    }
    if (signal.aborted && !isLoraloopError(e)) {
      throw new LoraloopError('CANCELED', 'The nightly run was stopped; the next run continues where it stopped.', { cause: e });
    }
    throw e;
  } finally {
    await lease.release();
  }
}

export { describeLora };

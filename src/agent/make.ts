/**
 * `runCoverAgent`: make one good cover from a request, with either planner, and return the best cover
 * and the whole trail of decisions. The `cover_make` tool, `loraloop make`, the Slack bot and the nightly
 * run all call this one function.
 */
import type { Services } from '../tools/services.js';
import { LoraloopError } from '../core/errors.js';
import { ok, type CommandResult } from '../core/result.js';
import { createToolContext } from '../tools/context.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { ToolContext } from '../tools/types.js';
import { runLlmPlanner } from './llm.js';
import { openAIConfigured } from '../clients/openai.js';
import { parseMakeRequest } from './request.js';
import { runRulePlanner } from './rules.js';
import { callTool } from './improve/call.js';
import { bestAttempt, critique, type AgentRun, type AttemptCheck, type CoverLook, type GenerateInput } from './run.js';
import { createTrail, type TrailStep } from './trail.js';

export type { TrailStep } from './trail.js';

/** What to make. Either `request` ("make a Solana cover: ...") or `title`. */
export interface CoverAgentInput {
  request?: string | undefined;
  title?: string | undefined;
  subtitle?: string | undefined;
  budget?: { attempts?: number | undefined; seconds?: number | undefined } | undefined;
  planner?: 'rules' | 'llm' | undefined;
  size?: GenerateInput['size'] | undefined;
  backend?: GenerateInput['backend'] | undefined;
  /** Score (0-1) at which a cover is good enough (default 0.8). */
  threshold?: number | undefined;
  /** Fix the first attempt's seed (later attempts step from it); omitted, every attempt draws a new one. */
  seed?: number | undefined;
}

export interface CoverAgentOptions {
  /** Called as each step lands (Slack edits its progress message). */
  onStep?: (step: TrailStep) => void;
  signal?: AbortSignal;
  /** Which face asked (wording only). */
  face?: ToolContext['face'];
}

/** The `data` of a successful run. */
export interface CoverAgentData {
  cover_id: string;
  path: string;
  score: number;
  attempts: number;
  planner: 'rules' | 'llm';
  title: string;
  coin: { symbol: string; name: string } | null;
  threshold: number;
  met_threshold: boolean;
  stopped_because: string;
  checks: AttemptCheck[];
  trail: TrailStep[];
  /** How the best cover looks: its seed and style, and what cover_generate said (coins, palette, LoRA, contrast). */
  seed: number | null;
  style: string | null;
  coins: CoverLook['coins'];
  palette: CoverLook['palette'];
  lora: CoverLook['lora'];
  contrast: CoverLook['contrast'];
}

export const DEFAULT_ATTEMPTS = 4;
export const DEFAULT_SECONDS = 120;
export const DEFAULT_THRESHOLD = 0.8;

/** Run the make-a-cover agent. Expected failures throw LoraloopError (the registry reports them). */
export async function runCoverAgent(s: Services, tools: ToolRegistry, input: CoverAgentInput, opts: CoverAgentOptions = {}): Promise<CommandResult<CoverAgentData>> {
  const planner = input.planner ?? 'rules';
  if (planner === 'llm' && !openAIConfigured(s)) {
    throw new LoraloopError('NOT_CONFIGURED', 'The LLM planner needs an OpenAI-compatible endpoint, and OPENAI_API_KEY is not set.', {
      hint: 'Set OPENAI_API_KEY (OPENAI_BASE_URL for another endpoint, LORALOOP_LLM_MODEL for the model), or use planner "rules".',
    });
  }
  const parsed = parseMakeRequest(s, input);
  const trail = createTrail(planner, () => performance.now(), opts.onStep);
  const ctx = createToolContext(s, tools, { face: 'agent', logger: s.logger.child({ face: 'agent' }), ...(opts.signal ? { signal: opts.signal } : {}) });
  const run: AgentRun = {
    s,
    tools,
    ctx,
    trail,
    parsed,
    budget: { attempts: input.budget?.attempts ?? DEFAULT_ATTEMPTS, seconds: input.budget?.seconds ?? DEFAULT_SECONDS },
    threshold: input.threshold ?? DEFAULT_THRESHOLD,
    size: input.size,
    backend: input.backend,
    seed: input.seed,
    title: parsed.title,
    attempts: [],
    lora: null,
  };
  for (const n of parsed.notes) trail.add({ action: 'parse', ok: true, summary: n });

  // Route first: which coin and LoRA; make sure the requested coin is the one the cover gets.
  const routeInput = { title: run.title, ...(parsed.subtitle ? { subtitle: parsed.subtitle } : {}) };
  const routed = await callTool(ctx, 'cover_route', routeInput);
  if (routed.success) {
    const d = routed.data;
    run.lora = d.lora ? { name: d.lora.name, strength: d.lora.strength } : null;
    const primary = d.coins.filter((c) => c.primary).map((c) => c.symbol);
    trail.add({ action: 'route', tool: 'cover_route', input: routeInput, ok: true, summary: routed.reasoning });
    if (parsed.coin && !primary.includes(parsed.coin.symbol)) {
      // cover_generate routes from the title; a headline that does not name the requested coin would get
      // another coin's logo (or none), so the coin's name leads the title.
      run.title = `${parsed.coin.name}: ${parsed.title}`;
      trail.add({
        action: 'decide',
        ok: true,
        summary: `The headline does not make ${parsed.coin.symbol} the primary coin, but the request asks for a ${parsed.coin.name} cover, so the title given to cover_generate is "${run.title}".`,
      });
    }
  } else {
    trail.add({ action: 'route', tool: 'cover_route', input: routeInput, ok: false, summary: routed.reasoning });
  }

  let why: string;
  if (planner === 'llm') {
    const out = await runLlmPlanner(run, input.request ?? `Make a cover for: ${parsed.title}`);
    why = out.why;
    if (out.fallback) {
      trail.add({ action: 'fallback', planner: 'rules', ok: true, summary: `The LLM planner made no cover (${out.why}); the rule planner takes over.` });
      why = await runRulePlanner(run);
    } else {
      // Covers the model did not critique still compete for "best": critique them now.
      for (const a of run.attempts) if (a.score === null) await critique(run, a);
    }
  } else {
    why = await runRulePlanner(run);
  }

  const best = bestAttempt(run);
  if (!best) {
    const failedGen = trail.steps.filter((st) => st.action === 'generate' && !st.ok).map((st) => st.summary);
    throw new LoraloopError('JOB_FAILED', `No cover was made: ${why}.`, {
      hint: failedGen.length ? `The last generation error: ${failedGen[failedGen.length - 1]}` : 'Check the request and the generation backend, then try again.',
      category: failedGen.length ? 'third-party' : 'user',
    });
  }
  const score = best.score ?? 0;
  const met = score >= run.threshold;
  trail.add({ action: 'finish', ok: met, cover_id: best.cover_id, score, summary: `Stopped because ${why}. Best: cover ${best.index} (${best.cover_id}) at ${score.toFixed(2)}.` });
  const data: CoverAgentData = {
    cover_id: best.cover_id,
    path: best.path,
    score,
    attempts: run.attempts.length,
    planner,
    title: run.title,
    coin: parsed.coin,
    threshold: run.threshold,
    met_threshold: met,
    stopped_because: why,
    checks: best.checks,
    trail: trail.steps,
    seed: best.seed,
    style: best.style,
    ...best.look,
  };
  const failed = best.checks.filter((c) => !c.passed);
  const reasoning = [
    `Made ${run.attempts.length} cover${run.attempts.length === 1 ? '' : 's'} with the ${planner === 'llm' ? 'LLM' : 'rule'} planner; the best is ${best.cover_id} (score ${score.toFixed(2)}${met ? '' : `, under the threshold ${run.threshold}`}) at ${best.path}.`,
    met ? '' : `It still fails ${failed.map((c) => `${c.name} (${c.detail})`).join('; ') || 'the threshold'}. Rate it with cover_rate, or run again with a larger budget.`,
    'Trail:',
    ...trail.steps.map((st) => `${st.step}. [${st.action}] ${st.summary}`),
  ].filter(Boolean);
  const next = met ? 'Rate it with cover_rate, or call cover_make again for another.' : 'Rate it with cover_rate, or run again with a larger budget.';
  // By hash, so a host other than this one (job_status answered elsewhere) can serve the file.
  const stored = await s.store.covers.get(best.cover_id);
  return ok(data, reasoning.join('\n'), [{ kind: 'image', path: best.path, ...(stored ? { sha256: stored.blob_sha256 } : {}), mime_type: 'image/png', title: 'Best cover' }], next);
}

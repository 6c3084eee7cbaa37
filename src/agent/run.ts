/**
 * What both planners share: the state of one make-a-cover run and the two actions every plan is made of
 * (generate through `cover_generate`, critique through `cover_critique`), both called through the tool
 * registry, so the agent's calls are validated like anyone else's.
 */
import type { Services } from '../tools/services.js';
import type { CommandResult } from '../core/result.js';
import { callTool, callToolByName, type ToolInput, type ToolOutput } from './improve/call.js';
import type { ToolRegistry } from '../tools/registry.js';
import type { ToolContext } from '../tools/types.js';
import type { ParsedRequest } from './request.js';
import type { Trail } from './trail.js';

/** A check as cover_critique returns it. */
export interface AttemptCheck {
  name: string;
  passed: boolean;
  value: number | null;
  detail: string;
}

/** One generated cover and what the critic said about it. */
export interface Attempt {
  index: number;
  cover_id: string;
  path: string;
  seed: number | null;
  style: string | null;
  /** How the cover looks, as cover_generate reported it (what a chat message or a view shows). */
  look: CoverLook;
  input: Record<string, unknown>;
  score: number | null;
  checks: AttemptCheck[];
  vision: { status: string; findings: { style_ok?: boolean; right_coin?: boolean; garbled_text?: boolean } | null } | null;
  disagreements: string[];
}

/** What cover_generate says about a cover beyond its id: coins, palette, LoRA, title contrast. */
export interface CoverLook {
  coins: Array<{ symbol: string; name: string; primary: boolean }>;
  palette: { colors: string[]; scheme: string } | null;
  lora: { name: string; version: number; strength: number } | null;
  contrast: number | null;
}

export interface Budget {
  attempts: number;
  seconds: number;
}

/** One run of the agent. */
export interface AgentRun {
  s: Services;
  tools: ToolRegistry;
  ctx: ToolContext;
  trail: Trail;
  parsed: ParsedRequest;
  budget: Budget;
  threshold: number;
  size: GenerateInput['size'];
  backend: GenerateInput['backend'];
  /** The seed of the first attempt when the caller fixed one. */
  seed: number | undefined;
  /** What cover_generate is given as the title (the headline, possibly with the coin prefixed). */
  title: string;
  attempts: Attempt[];
  /** The LoRA routing picked, for strength changes. */
  lora: { name: string; strength: number } | null;
}

/** Whether the run may make another cover. */
export function budgetLeft(run: AgentRun): { ok: boolean; why: string } {
  if (run.ctx.signal.aborted) return { ok: false, why: 'the run was canceled' };
  if (run.attempts.length >= run.budget.attempts) return { ok: false, why: `the attempt budget (${run.budget.attempts}) is used` };
  if (run.trail.elapsedMs() >= run.budget.seconds * 1000) return { ok: false, why: `the time budget (${run.budget.seconds} s) is used` };
  return { ok: true, why: '' };
}

/** The best critiqued attempt (highest score, earliest on ties), else the first one. */
export function bestAttempt(run: AgentRun): Attempt | undefined {
  let best: Attempt | undefined;
  for (const a of run.attempts) if (a.score !== null && (!best || best.score === null || a.score > best.score)) best = a;
  return best ?? run.attempts[0];
}

/** cover_generate's input, as the planners build it. */
export type GenerateInput = ToolInput<'cover_generate'>;

/** Generate one cover; records the attempt (or the failure) in the trail. */
export async function generate(run: AgentRun, input: GenerateInput, why: string): Promise<Attempt | { code: string; message: string }> {
  return recordGeneration(run, input, why, await callTool(run.ctx, 'cover_generate', input));
}

/** Generate one cover from arguments the model wrote; the registry validates them as it does any client's. */
export async function generateFromModel(run: AgentRun, args: Record<string, unknown>, why: string): Promise<Attempt | { code: string; message: string }> {
  return recordGeneration(run, args, why, (await callToolByName(run.ctx, 'cover_generate', args)) as CommandResult<ToolOutput<'cover_generate'>>);
}

function recordGeneration(
  run: AgentRun,
  input: Record<string, unknown>,
  why: string,
  r: CommandResult<ToolOutput<'cover_generate'>>,
): Attempt | { code: string; message: string } {
  if (!r.success) {
    run.trail.add({ action: 'generate', tool: 'cover_generate', input, ok: false, summary: `${why} cover_generate failed: ${r.reasoning}` });
    return { code: r.error.code, message: r.error.message };
  }
  const d = r.data;
  const attempt: Attempt = {
    index: run.attempts.length + 1,
    cover_id: d.cover_id,
    path: d.path,
    seed: d.seed ?? null,
    style: d.style ?? null,
    look: { coins: d.coins ?? [], palette: d.palette ?? null, lora: d.lora ?? null, contrast: d.contrast ?? null },
    input,
    score: null,
    checks: [],
    vision: null,
    disagreements: [],
  };
  run.attempts.push(attempt);
  run.trail.add({
    action: 'generate',
    tool: 'cover_generate',
    input,
    ok: true,
    cover_id: d.cover_id,
    summary: `${why} Made cover ${attempt.index} (${d.cover_id}${d.style ? `, ${d.style}` : ''}${d.seed !== undefined ? `, seed ${d.seed}` : ''}).`,
  });
  return attempt;
}

/** Critique an attempt against the requested coin; records the score in the attempt and the trail. */
export async function critique(run: AgentRun, a: Attempt): Promise<void> {
  const input = { cover_id: a.cover_id, expect: { ...(run.parsed.coin ? { coin: run.parsed.coin.symbol } : {}), title: run.parsed.title } };
  const r = await callTool(run.ctx, 'cover_critique', input);
  if (!r.success) {
    a.score = 0;
    run.trail.add({ action: 'critique', tool: 'cover_critique', input, ok: false, cover_id: a.cover_id, summary: `The critic failed on cover ${a.index}: ${r.reasoning}` });
    return;
  }
  const d = r.data;
  a.score = d.score;
  a.checks = d.checks;
  a.vision = d.vision;
  a.disagreements = d.disagreements;
  const failed = d.checks.filter((c) => !c.passed);
  run.trail.add({
    action: 'critique',
    tool: 'cover_critique',
    input,
    ok: true,
    cover_id: a.cover_id,
    score: d.score,
    summary: `Cover ${a.index} scored ${d.score.toFixed(2)}${failed.length ? `; failed ${failed.map((c) => c.name).join(', ')}` : '; every check passed'}${d.disagreements.length ? `; ${d.disagreements.join(' ')}` : ''}.`,
  });
}

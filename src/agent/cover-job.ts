/**
 * One cover for a person in a chat (the Slack face asks; it only renders what comes back).
 *
 * - A request (a mention, a DM, `/cover`, "Generate again") runs the agent, `cover_make`: it routes,
 *   generates, critiques and retries within its budget, reporting each step as progress.
 * - "Another style" forces a background style, which only `cover_generate` takes; the cover is then scored
 *   by `cover_critique` so its line has a score like the agent's.
 * - Without `cover_make` in the registry, `cover_generate` (+ `cover_critique`) does the whole job.
 *
 * Everything comes from the tools' own results (read with lenient schemas), through the registry, so a chat
 * gets exactly what MCP and the CLI get.
 */
import { z } from 'zod';
import type { Failure } from '../core/result.js';
import { nestedContext } from '../tools/context.js';
import type { ToolContext, ToolDefinition } from '../tools/types.js';

/** What the person asked to be made. */
export interface CoverJob {
  /** The headline for the cover. */
  title: string;
  /** The request as the person typed it (the agent reads coin hints from it). */
  brief: string;
  /** A seed to use; omitted for a new image. */
  seed?: number;
  /** A background style to force ("Another style"). */
  style?: string;
}

/** The facts a chat shows about a finished cover. */
export interface CoverOutcome {
  tool: string;
  cover_id: string;
  /** Absolute path of the PNG. */
  path: string;
  seed: number | null;
  style: string | null;
  coins: Array<{ symbol: string; name: string; primary: boolean }>;
  lora: { name: string; version: number; strength: number } | null;
  palette: { colors: string[]; scheme: string } | null;
  /** The critic's score, 0..1, when there is one. */
  score: number | null;
  /** Title contrast ratio, when the tool reports it. */
  contrast: number | null;
  /** How many covers the agent made to get this one. */
  attempts: number | null;
  reasoning: string;
}

export type CoverRun = { ok: true; outcome: CoverOutcome } | { ok: false; code: string; message: string; hint?: string };

/** What every cover tool returns at least (cover_generate and cover_make both do). */
const coverData = z.looseObject({
  cover_id: z.string(),
  path: z.string(),
  seed: z.number().nullish(),
  style: z.string().nullish(),
  coins: z.array(z.looseObject({ symbol: z.string(), name: z.string(), primary: z.boolean() })).nullish(),
  lora: z.looseObject({ name: z.string(), version: z.number(), strength: z.number() }).nullish(),
  palette: z.looseObject({ colors: z.array(z.string()), scheme: z.string() }).nullish(),
  score: z.number().nullish(),
  contrast: z.number().nullish(),
  attempts: z.number().nullish(),
});
const scoreData = z.looseObject({ score: z.number() });

/** Which tool makes a job: the agent unless a style is forced or the agent is not registered. */
export function coverToolName(ctx: Pick<ToolContext, 'tools'>, job: CoverJob): 'cover_make' | 'cover_generate' {
  return job.style === undefined && ctx.tools.get('cover_make') ? 'cover_make' : 'cover_generate';
}

/**
 * The input for `tool`. cover_generate takes the title (its `prompt` is the image model's subject, not the
 * person's request). The agent gets the request (it reads a coin named in the instruction) and the title
 * we already read from it (an explicit title wins over its own parsing).
 */
export function toolInputFor(tool: ToolDefinition, job: CoverJob): Record<string, unknown> {
  const keys = new Set(Object.keys(tool.input.shape as Record<string, unknown>));
  const input: Record<string, unknown> = {};
  if (tool.name !== 'cover_generate' && keys.has('request')) input.request = job.brief;
  if (keys.has('title')) input.title = job.title;
  if (job.seed !== undefined && keys.has('seed')) input.seed = job.seed;
  if (job.style !== undefined && keys.has('style')) input.style = job.style;
  return input;
}

function failureOf(result: Failure): CoverRun {
  const { code, message, hint } = result.error;
  return hint ? { ok: false, code, message, hint } : { ok: false, code, message };
}

/**
 * Make one cover through the registry, reporting progress on `ctx.progress`. Never throws for tool failures:
 * they come back as `ok: false`.
 */
export async function makeCoverJob(ctx: ToolContext, job: CoverJob): Promise<CoverRun> {
  const name = coverToolName(ctx, job);
  const tool = ctx.tools.get(name);
  if (!tool) return { ok: false, code: 'UNKNOWN_TOOL', message: 'No cover tool is registered.' };
  const result = await ctx.tools.execute(name, toolInputFor(tool, job), ctx);
  if (!result.success) return failureOf(result);
  const parsed = coverData.safeParse(result.data);
  if (!parsed.success) {
    ctx.logger.error('cover tool returned no cover a chat can show', { tool: name });
    return { ok: false, code: 'INTERNAL', message: `${name} finished but returned no cover image.` };
  }
  const cover = parsed.data;
  let score = cover.score ?? null;
  // A one-shot cover has no score yet: the critic gives it one (a failed critique only costs the score).
  if (score === null && ctx.tools.get('cover_critique')) {
    ctx.progress({ progress: 1, total: 1, message: 'critiquing the cover' });
    const critique = await ctx.tools.execute('cover_critique', { cover_id: cover.cover_id }, nestedContext(ctx));
    const s = critique.success ? scoreData.safeParse(critique.data) : undefined;
    if (s?.success) score = s.data.score;
    else ctx.logger.warn('critique of a chat cover failed', { cover_id: cover.cover_id, reason: critique.reasoning });
  }
  const lora = cover.lora ?? null;
  const palette = cover.palette ?? null;
  return {
    ok: true,
    outcome: {
      tool: name,
      cover_id: cover.cover_id,
      path: cover.path,
      seed: cover.seed ?? null,
      style: cover.style ?? null,
      coins: (cover.coins ?? []).map((c) => ({ symbol: c.symbol, name: c.name, primary: c.primary })),
      lora: lora ? { name: lora.name, version: lora.version, strength: lora.strength } : null,
      palette: palette ? { colors: palette.colors, scheme: palette.scheme } : null,
      score,
      contrast: cover.contrast ?? null,
      attempts: cover.attempts ?? null,
      reasoning: result.reasoning,
    },
  };
}

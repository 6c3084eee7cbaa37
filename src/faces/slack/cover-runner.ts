/**
 * Runs one cover for the Slack face through the tool registry, so Slack does exactly what MCP and the CLI do.
 *
 * - A request (a mention, a DM, `/cover`, "Generate again") runs the agent, `cover_make`: it routes,
 *   generates, critiques and retries within its budget, and reports each step (progress edits).
 * - "Another style" forces a background style, which only `cover_generate` takes; the cover is then scored
 *   by `cover_critique` so its line has a score like the agent's.
 * - Without `cover_make` in the registry, `cover_generate` (+ `cover_critique`) does the whole job.
 *
 * Tools' `data` is parsed with lenient schemas; the palette, LoRA and style come from the stored cover record.
 */
import { z } from 'zod';
import type { App } from '../../app.js';
import type { Logger } from '../../core/logger.js';
import type { Failure } from '../../core/result.js';
import type { ProgressUpdate, ToolDefinition } from '../../tools/types.js';

/** What the bot was asked to make. */
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

/** The facts Slack shows about a finished cover. */
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
export function coverToolName(app: App, job: CoverJob): 'cover_make' | 'cover_generate' {
  return job.style === undefined && app.tools.get('cover_make') ? 'cover_make' : 'cover_generate';
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

export interface RunOptions {
  onProgress?: (p: ProgressUpdate) => void;
  signal?: AbortSignal;
  logger: Logger;
}

function failureOf(result: Failure): CoverRun {
  const { code, message, hint } = result.error;
  return hint ? { ok: false, code, message, hint } : { ok: false, code, message };
}

/** Make one cover through the registry. Never throws for tool failures: they come back as `ok: false`. */
export async function runCoverJob(app: App, job: CoverJob, options: RunOptions): Promise<CoverRun> {
  const ctx = (progress: (p: ProgressUpdate) => void) => ({
    services: app.services,
    tools: app.tools,
    logger: options.logger,
    signal: options.signal ?? new AbortController().signal,
    face: 'slack' as const,
    progress,
  });
  const name = coverToolName(app, job);
  const tool = app.tools.get(name);
  if (!tool) return { ok: false, code: 'UNKNOWN_TOOL', message: 'No cover tool is registered.' };
  const result = await app.tools.execute(name, toolInputFor(tool, job), ctx((p) => options.onProgress?.(p)));
  if (!result.success) return failureOf(result);
  const parsed = coverData.safeParse(result.data);
  if (!parsed.success) {
    options.logger.error('cover tool returned no cover the Slack face can read', { tool: name });
    return { ok: false, code: 'INTERNAL', message: `${name} finished but returned no cover image.` };
  }
  const cover = parsed.data;
  let score = cover.score ?? null;
  // A one-shot cover has no score yet: the critic gives it one (a failed critique only costs the score).
  if (score === null && app.tools.get('cover_critique')) {
    options.onProgress?.({ progress: 1, total: 1, message: 'critiquing the cover' });
    const critique = await app.tools.execute('cover_critique', { cover_id: cover.cover_id }, ctx(() => {}));
    const s = critique.success ? scoreData.safeParse(critique.data) : undefined;
    if (s?.success) score = s.data.score;
    else options.logger.warn('slack: critique of a cover failed', { cover_id: cover.cover_id, reason: critique.reasoning });
  }
  // The agent returns the best cover's id and score; the record has how it was made.
  const record = await app.services.store.covers.get(cover.cover_id);
  const coins = cover.coins ?? record?.coins ?? [];
  const lora = cover.lora ?? record?.lora ?? null;
  const palette = cover.palette ?? record?.palette ?? null;
  return {
    ok: true,
    outcome: {
      tool: name,
      cover_id: cover.cover_id,
      path: cover.path,
      seed: cover.seed ?? record?.seed ?? null,
      style: cover.style ?? record?.style ?? null,
      coins: coins.map((c) => ({ symbol: c.symbol, name: c.name, primary: c.primary })),
      lora: lora ? { name: lora.name, version: lora.version, strength: lora.strength } : null,
      palette: palette ? { colors: palette.colors, scheme: palette.scheme } : null,
      score,
      contrast: cover.contrast ?? null,
      attempts: cover.attempts ?? null,
      reasoning: result.reasoning,
    },
  };
}

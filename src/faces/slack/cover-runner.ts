/**
 * Runs one cover for the Slack face through the tool registry, so Slack does exactly what MCP and the CLI do.
 * The agent tool `cover_make` is used when the registry has it; until then `cover_generate` makes the cover
 * from the title. The tool's `data` is parsed with a lenient schema into the few facts Slack shows.
 */
import { z } from 'zod';
import type { App } from '../../app.js';
import type { Logger } from '../../core/logger.js';
import type { ProgressUpdate, ToolDefinition } from '../../tools/types.js';

/** What the bot was asked to make. */
export interface CoverJob {
  /** The headline for the cover. */
  title: string;
  /** The request as the person typed it (the agent reads coin hints and wishes from it). */
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
  /** The critic's score (0-1 or 0-10 as the agent reports it), when there is one. */
  score: number | null;
  /** Title contrast ratio, when the tool reports it. */
  contrast: number | null;
  reasoning: string;
}

export type CoverRun = { ok: true; outcome: CoverOutcome } | { ok: false; code: string; message: string; hint?: string };

const coverLike = z.looseObject({
  cover_id: z.string(),
  path: z.string(),
  seed: z.number().nullish(),
  style: z.string().nullish(),
  coins: z.array(z.looseObject({ symbol: z.string(), name: z.string(), primary: z.boolean() })).nullish(),
  lora: z.looseObject({ name: z.string(), version: z.number(), strength: z.number() }).nullish(),
  palette: z.looseObject({ colors: z.array(z.string()), scheme: z.string() }).nullish(),
  score: z.number().nullish(),
  contrast: z.number().nullish(),
});

const failureData = z.looseObject({ error: z.looseObject({ code: z.string(), message: z.string(), hint: z.string().optional() }) });

/** Which tool makes covers for Slack: the agent when it is registered, else the one-shot generator. */
export function coverToolName(app: App): 'cover_make' | 'cover_generate' {
  return app.tools.get('cover_make') ? 'cover_make' : 'cover_generate';
}

/**
 * The input for `tool`. cover_generate takes the title (its `prompt` is the image model's subject, not the
 * person's request). For the agent, the request goes in whichever brief field its schema declares.
 */
export function toolInputFor(tool: ToolDefinition, job: CoverJob): Record<string, unknown> {
  const keys = new Set(Object.keys(tool.input.shape as Record<string, unknown>));
  const input: Record<string, unknown> = {};
  const briefKey = tool.name === 'cover_generate' ? undefined : ['request', 'brief', 'text', 'message'].find((k) => keys.has(k));
  if (briefKey) input[briefKey] = job.brief;
  if (keys.has('title')) input.title = job.title;
  if (job.seed !== undefined && keys.has('seed')) input.seed = job.seed;
  if (job.style !== undefined && keys.has('style')) input.style = job.style;
  return input;
}

/** Find the cover inside a tool's data: at the top level or under a usual key. */
function findCover(data: unknown): z.infer<typeof coverLike> | undefined {
  const direct = coverLike.safeParse(data);
  if (direct.success) return direct.data;
  if (data && typeof data === 'object') {
    for (const key of ['cover', 'best', 'final', 'result']) {
      const inner = coverLike.safeParse((data as Record<string, unknown>)[key]);
      if (inner.success) {
        // A score next to the cover (the agent's critique) counts too.
        const outer = z.looseObject({ score: z.number().nullish() }).safeParse(data);
        return { ...inner.data, score: inner.data.score ?? (outer.success ? outer.data.score : undefined) };
      }
    }
  }
  return undefined;
}

export interface RunOptions {
  onProgress?: (p: ProgressUpdate) => void;
  signal?: AbortSignal;
  logger: Logger;
}

/** Make one cover through the registry. Never throws for tool failures: they come back as `ok: false`. */
export async function runCoverJob(app: App, job: CoverJob, options: RunOptions): Promise<CoverRun> {
  const name = coverToolName(app);
  const tool = app.tools.get(name);
  if (!tool) return { ok: false, code: 'UNKNOWN_TOOL', message: 'No cover tool is registered.' };
  const result = await app.tools.execute(name, toolInputFor(tool, job), {
    services: app.services,
    logger: options.logger,
    signal: options.signal ?? new AbortController().signal,
    face: 'slack',
    progress: (p) => options.onProgress?.(p),
  });
  if (!result.success) {
    const f = failureData.safeParse(result.data);
    if (!f.success) return { ok: false, code: 'INTERNAL', message: result.reasoning };
    const { code, message, hint } = f.data.error;
    return hint ? { ok: false, code, message, hint } : { ok: false, code, message };
  }
  const cover = findCover(result.data);
  if (!cover) {
    options.logger.error('cover tool returned no cover the Slack face can read', { tool: name });
    return { ok: false, code: 'INTERNAL', message: `${name} finished but returned no cover image.` };
  }
  return {
    ok: true,
    outcome: {
      tool: name,
      cover_id: cover.cover_id,
      path: cover.path,
      seed: cover.seed ?? null,
      style: cover.style ?? null,
      coins: (cover.coins ?? []).map((c) => ({ symbol: c.symbol, name: c.name, primary: c.primary })),
      lora: cover.lora ? { name: cover.lora.name, version: cover.lora.version, strength: cover.lora.strength } : null,
      palette: cover.palette ? { colors: cover.palette.colors, scheme: cover.palette.scheme } : null,
      score: cover.score ?? null,
      contrast: cover.contrast ?? null,
      reasoning: result.reasoning,
    },
  };
}

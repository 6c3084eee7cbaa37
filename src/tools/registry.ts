import { z } from 'zod';
import { LoraloopError, isLoraloopError } from '../core/errors.js';
import { failure, type CommandResult } from '../core/result.js';
import type { ToolContext, ToolDefinition } from './types.js';
import { enqueueCall, goesOnQueue } from './queued.js';

/** The one tool registry every face adapts. */
export interface ToolRegistry {
  list(): ToolDefinition[];
  /** Find a tool by `cover_route`, `cover.route` or `lora.upload-images` spelling. */
  get(name: string): ToolDefinition | undefined;
  /** Validate input, run the handler, turn expected failures into a failed CommandResult. */
  execute(name: string, rawInput: unknown, ctx: ToolContext): Promise<CommandResult>;
}

/** `lora.upload-images` -> `lora_upload_images`. */
export function canonicalToolName(name: string): string {
  return name.trim().replace(/[.-]/g, '_').toLowerCase();
}

/** Turn zod issues into one sentence naming each field. */
export function describeIssues(err: z.ZodError): string {
  return err.issues
    .map((i) => {
      const path = i.path.length ? i.path.join('.') : '(input)';
      return `${path}: ${i.message}`;
    })
    .join('; ');
}

export function createToolRegistry(tools: ToolDefinition[]): ToolRegistry {
  const byName = new Map<string, ToolDefinition>();
  for (const t of tools) {
    if (byName.has(t.name)) throw new LoraloopError('INTERNAL', `Tool ${t.name} is registered twice.`);
    byName.set(t.name, t);
  }
  return {
    list: () => [...byName.values()],
    get: (name) => byName.get(canonicalToolName(name)),
    async execute(name, rawInput, ctx) {
      const tool = byName.get(canonicalToolName(name));
      if (!tool) {
        return failure('UNKNOWN_TOOL', `There is no tool called "${name}".`, {
          hint: `Known tools: ${[...byName.keys()].join(', ')}.`,
        });
      }
      const parsed = tool.input.safeParse(rawInput ?? {});
      if (!parsed.success) {
        return failure('INVALID_INPUT', `Invalid input for ${tool.name}: ${describeIssues(parsed.error)}.`, {
          hint: 'Fix the fields named above and call again.',
        });
      }
      try {
        // With a job queue, GPU work goes to the workers; the face waits for (or hands over) the result.
        const queue = tool.worker ? ctx.services.queue : null;
        if (queue && goesOnQueue(tool, parsed.data, ctx)) return await enqueueCall(queue, ctx, tool.name, parsed.data);
        const result = await tool.handler(ctx, parsed.data);
        if (result.success) {
          // The output schema is a promise to every client; breaking it is our bug, not the user's.
          const out = tool.output.safeParse(result.data);
          if (!out.success) {
            ctx.logger.error('tool output does not match its schema', { tool: tool.name, issues: describeIssues(out.error) });
            throw new LoraloopError('INTERNAL', `${tool.name} produced output that does not match its schema: ${describeIssues(out.error)}.`);
          }
          return { ...result, data: out.data };
        }
        return result;
      } catch (e) {
        if (isLoraloopError(e)) {
          if (e.category === 'system') ctx.logger.error('tool failed', { tool: tool.name, code: e.code, error: e.message });
          return failure(e.code, e.message, { category: e.category, ...(e.hint ? { hint: e.hint } : {}) });
        }
        ctx.logger.error('tool crashed', { tool: tool.name, error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
        return failure('INTERNAL', `${tool.name} failed unexpectedly: ${e instanceof Error ? e.message : String(e)}.`, {
          category: 'system',
          hint: 'This is a bug in loraloop; the log on stderr has the details.',
        });
      }
    },
  };
}

/**
 * Calling other tools from inside a tool. The nightly run and dataset_collect use their colleagues through
 * the tool registry (validated input and output, the same failures a user sees), so they depend on tool
 * contracts, not on internals. The registry is the one the call came through (`ctx.tools`).
 */
import { LoraloopError } from '../../core/errors.js';
import type { CommandResult } from '../../core/result.js';
import type { ToolContext } from '../../tools/types.js';

/** Is a tool registered (a colleague's tool may not have landed in every build)? */
export function hasTool(ctx: ToolContext, name: string): boolean {
  return ctx.tools.get(name) !== undefined;
}

/** Run a tool; returns its CommandResult as is (success or failure). */
export async function callTool(ctx: ToolContext, name: string, input: unknown): Promise<CommandResult> {
  return ctx.tools.execute(name, input, ctx);
}

/** Run a tool and return its data; a failed result becomes a LoraloopError with the tool's own code and sentence. */
export async function callToolOk<T>(ctx: ToolContext, name: string, input: unknown): Promise<T> {
  const r = await callTool(ctx, name, input);
  if (!r.success) {
    const { code, message, hint, category } = r.error;
    throw new LoraloopError(code, `${name}: ${message}`, { category, ...(hint ? { hint } : {}) });
  }
  return r.data as T;
}

/** A context for nested calls: same services, signal and logger; progress of the nested tool is not forwarded. */
export function nestedContext(ctx: ToolContext, face: ToolContext['face'] = ctx.face): ToolContext {
  return { services: ctx.services, tools: ctx.tools, logger: ctx.logger, signal: ctx.signal, face, progress: () => {} };
}

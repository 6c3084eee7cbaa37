/**
 * Calling other tools from inside a tool. The nightly run uses its colleagues through
 * the tool registry (validated input and output, the same failures a user sees), so they depend on tool
 * contracts, not on internals. The registry is the one the call came through (`ctx.tools`).
 */
import { LoraloopError } from '../../core/errors.js';
import type { CommandResult, FailureData } from '../../core/result.js';
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
    const err = (r.data as FailureData | undefined)?.error;
    throw new LoraloopError(err?.code ?? 'INTERNAL', `${name}: ${err?.message ?? r.reasoning}`, {
      ...(err?.hint ? { hint: err.hint } : {}),
      ...(err?.category === 'user' || err?.category === 'system' || err?.category === 'third-party' ? { category: err.category } : {}),
    });
  }
  return r.data as T;
}

export { nestedContext } from '../../tools/context.js';

/**
 * Calling other tools from inside a tool. The nightly run and dataset_collect use their colleagues through
 * the tool registry (validated input and output, the same failures a user sees), so they depend on tool
 * contracts, not on internals. The registry is built on first use with a dynamic import: the tool list
 * includes the tools that call this, and a static import would be a cycle.
 */
import { LoraloopError } from '../../core/errors.js';
import type { CommandResult, FailureData } from '../../core/result.js';
import type { ToolRegistry } from '../../tools/registry.js';
import type { ToolContext } from '../../tools/types.js';

let registry: Promise<ToolRegistry> | undefined;

/** The process-wide registry of every tool (stateless: tool definitions only). */
export function toolRegistry(): Promise<ToolRegistry> {
  registry ??= (async () => {
    const [{ allTools }, { createToolRegistry }] = await Promise.all([import('../../tools/index.js'), import('../../tools/registry.js')]);
    return createToolRegistry(allTools());
  })();
  return registry;
}

/** Is a tool registered (a colleague's tool may not have landed in every build)? */
export async function hasTool(name: string): Promise<boolean> {
  return (await toolRegistry()).get(name) !== undefined;
}

/** Run a tool; returns its CommandResult as is (success or failure). */
export async function callTool(ctx: ToolContext, name: string, input: unknown): Promise<CommandResult> {
  return (await toolRegistry()).execute(name, input, ctx);
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

/** A context for nested calls: same services, signal and logger; progress of the nested tool is not forwarded. */
export function nestedContext(ctx: ToolContext, face: ToolContext['face'] = ctx.face): ToolContext {
  return { services: ctx.services, logger: ctx.logger, signal: ctx.signal, face, progress: () => {} };
}

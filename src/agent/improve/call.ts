/**
 * Calling other tools from inside a tool. The nightly run and the cover agent use their colleagues through the
 * tool registry (validated input and output, the same failures a user sees), so they depend on tool contracts,
 * not on internals. The registry is the one the call came through (`ctx.tools`).
 *
 * Calls are typed by the called tool's own schemas: the input is what its input schema accepts, the data what
 * its output schema gives, so a wrong argument or a misread field is a compile error.
 */
import type { z } from 'zod';
import { LoraloopError } from '../../core/errors.js';
import type { CommandResult } from '../../core/result.js';
import type { ToolsByName } from '../tools/index.js';
import type { ToolContext } from '../../tools/types.js';

export type ToolName = keyof ToolsByName;
/** What a tool accepts (defaults still optional). */
export type ToolInput<N extends ToolName> = z.input<ToolsByName[N]['input']>;
/** What a tool's data is on success. */
export type ToolOutput<N extends ToolName> = z.output<ToolsByName[N]['output']>;

/** Is a tool registered (a colleague's tool may not have landed in every build)? */
export function hasTool(ctx: ToolContext, name: ToolName): boolean {
  return ctx.tools.get(name) !== undefined;
}

/** Run a tool; returns its CommandResult as is (success or failure). */
export async function callTool<N extends ToolName>(ctx: ToolContext, name: N, input: ToolInput<N>): Promise<CommandResult<ToolOutput<N>>> {
  // The registry parses the data of a success with the tool's output schema, so it is that schema's output.
  return (await ctx.tools.execute(name, input, ctx)) as CommandResult<ToolOutput<N>>;
}

/**
 * Run a tool named at run time with input nobody has checked yet (a model's tool call). The registry validates
 * both, and answers UNKNOWN_TOOL or INVALID_INPUT like it does for any client.
 */
export async function callToolByName(ctx: ToolContext, name: string, input: unknown): Promise<CommandResult> {
  return ctx.tools.execute(name, input, ctx);
}

/** Run a tool and return its data; a failed result becomes a LoraloopError with the tool's own code and sentence. */
export async function callToolOk<N extends ToolName>(ctx: ToolContext, name: N, input: ToolInput<N>): Promise<ToolOutput<N>> {
  const r = await callTool(ctx, name, input);
  if (!r.success) {
    const { code, message, hint, category } = r.error;
    throw new LoraloopError(code, `${name}: ${message}`, { category, ...(hint ? { hint } : {}) });
  }
  return r.data;
}

export { nestedContext } from '../../tools/context.js';

import type { z } from 'zod';
import type { Services } from './services.js';
import type { CommandResult } from '../core/result.js';
import type { Logger } from '../core/logger.js';
import type { ProgressUpdate } from '../core/progress.js';
import type { ToolRegistry } from './registry.js';
import type { LinkSigner } from '../core/links.js';

/** How long before a caller's deadline a waiting tool stops waiting, so its answer still arrives in time. */
export const DEADLINE_MARGIN_MS = 750;

/** MCP tool annotations (hints for clients; see the MCP spec). */
export interface ToolAnnotations {
  readOnlyHint?: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint?: boolean;
}

export type { ProgressUpdate } from '../core/progress.js';

/** What a handler receives besides its input. Built by createToolContext (tools/context.ts; faces call it through app.context), or copied from one with a new signal (a hand-over); handlers never see argv/env. */
export interface ToolContext {
  services: Services;
  /** The registry this call came through: tools that call other tools (the agent, the nightly run) use it. */
  tools: ToolRegistry;
  logger: Logger;
  signal: AbortSignal;
  progress: (p: ProgressUpdate) => void;
  /**
   * When the caller stops waiting (epoch ms), if it does: tools that wait on purpose (lora_status wait_seconds,
   * job_status) stop waiting a little before it. Work that runs past it is handed over as a job (src/tools/handover.ts).
   */
  deadline?: number;
  /** Signs download and upload URLs; only faces reachable over HTTP have one. */
  links?: LinkSigner;
  /**
   * The process ends when this call returns (a one-shot CLI command): work that must outlive the call (a local
   * kohya run) is not started from it. Tools read this, never `face`, to decide what to start.
   */
  oneShot?: boolean;
  /**
   * This process runs GPU work itself even when a job queue is configured (a `loraloop worker`, and every call
   * nested in one): its calls never go on the queue. Unset on faces, whose work goes to the workers.
   */
  runHere?: boolean;
  /** Which face called, for wording only; behaviour must not depend on it. */
  face: 'mcp' | 'cli' | 'agent' | 'slack' | 'nightly' | 'worker' | 'test';
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyObjectSchema = z.ZodObject<any>;

/**
 * A tool: the product's API. Input and output are zod objects with every field described (snake_case);
 * the handler checks the world (existence, permissions) and returns a CommandResult.
 */
export interface ToolDefinition<I extends AnyObjectSchema = AnyObjectSchema, O extends AnyObjectSchema = AnyObjectSchema, N extends string = string> {
  name: N;
  title: string;
  description: string;
  input: I;
  output: O;
  annotations: ToolAnnotations;
  /**
   * May run longer than an MCP client waits (remote GPUs, batches, training waits, large datasets). Such a tool
   * also answers `{status: "running", job_id}` when the call budget is spent (src/tools/handover.ts).
   */
  longRunning?: boolean;
  /**
   * Runs where the GPUs are. With a job queue (LORALOOP_QUEUE=pg-boss) a face's call of this tool goes on the
   * queue and a `loraloop worker` runs it; the face waits for the result within its budget. A function decides
   * per input (an input naming a file on the caller's host must run there).
   */
  worker?: boolean | ((input: z.output<I>) => boolean);
  handler: (ctx: ToolContext, input: z.output<I>) => Promise<CommandResult<z.output<O>>>;
}

/** Identity helper that keeps the input/output types linked to the handler, and the name as a literal type. */
export function defineTool<const N extends string, I extends AnyObjectSchema, O extends AnyObjectSchema>(t: ToolDefinition<I, O, N>): ToolDefinition<I, O, N> {
  return t;
}

import type { Logger } from '../core/logger.js';
import type { PathGuard } from '../core/paths.js';
import type { ToolRegistry } from './registry.js';
import type { Services } from './services.js';
import type { ToolContext } from './types.js';

/** What a caller may set on a ToolContext; everything left out gets a quiet default. */
export interface ContextOptions {
  face?: ToolContext['face'];
  signal?: AbortSignal;
  progress?: ToolContext['progress'];
  logger?: Logger;
  deadline?: number;
  links?: ToolContext['links'];
  /** This call's path guard instead of the app's (the CLI also trusts the paths a person typed). */
  paths?: PathGuard;
  /** The process ends with this call (see ToolContext.oneShot). Default: true for a CLI call, false otherwise. */
  oneShot?: boolean;
  /** See ToolContext.runHere. */
  runHere?: boolean;
}

/**
 * The one builder of ToolContexts. Faces reach it through `app.context(...)`; a tool that calls other tools
 * derives its nested context with `nestedContext`, which comes here too.
 */
export function createToolContext(services: Services, tools: ToolRegistry, o: ContextOptions = {}): ToolContext {
  const ctx: ToolContext = {
    services: o.paths ? { ...services, paths: o.paths } : services,
    tools,
    logger: o.logger ?? services.logger,
    signal: o.signal ?? new AbortController().signal,
    face: o.face ?? 'test',
    progress: o.progress ?? (() => {}),
  };
  if (o.deadline !== undefined) ctx.deadline = o.deadline;
  if (o.links) ctx.links = o.links;
  if (o.runHere) ctx.runHere = true;
  // A CLI command is a process that exits when its tool returns; every other face runs in a server or daemon.
  if (o.oneShot ?? o.face === 'cli') ctx.oneShot = true;
  return ctx;
}

/**
 * The context of a call made from inside a tool: the caller's services, registry and logger, and its signal
 * unless another is given; the caller's deadline, links and progress are not passed on (a nested tool's
 * progress is not the caller's).
 */
export function nestedContext(ctx: ToolContext, face: ToolContext['face'] = ctx.face, o: Omit<ContextOptions, 'face' | 'paths'> = {}): ToolContext {
  return createToolContext(ctx.services, ctx.tools, { logger: ctx.logger, signal: ctx.signal, ...(ctx.runHere ? { runHere: true } : {}), ...o, face });
}

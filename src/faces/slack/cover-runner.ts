/**
 * The Slack face's one call for a cover: a tool context for this request, then the agent's chat cover
 * (src/agent/cover-job.ts), which decides which tools run. The face only renders what comes back.
 */
import type { App } from '../../app.js';
import { makeCoverJob, type CoverJob, type CoverRun } from '../../agent/cover-job.js';
import type { Logger } from '../../core/logger.js';
import type { ProgressUpdate } from '../../tools/types.js';

export type { CoverJob, CoverOutcome, CoverRun } from '../../agent/cover-job.js';

export interface RunOptions {
  onProgress?: (p: ProgressUpdate) => void;
  signal?: AbortSignal;
  logger: Logger;
}

/** Make one cover. Never throws for tool failures: they come back as `ok: false`. */
export function runCoverJob(app: App, job: CoverJob, options: RunOptions): Promise<CoverRun> {
  const ctx = app.context({
    face: 'slack',
    logger: options.logger,
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onProgress ? { progress: options.onProgress } : {}),
  });
  return makeCoverJob(ctx, job);
}

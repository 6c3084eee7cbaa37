/**
 * Faults queued for the Replicate emulator's next matching requests (429 + Retry-After, 5xx, slow, cut, drop):
 * the queue tests fill through `faults`, and the replies that stand in for the real answer.
 */
import { problem, type Reply } from './wire.js';
import type { FaultController, FaultSpec } from './types.js';

export interface FaultQueue {
  controller: FaultController;
  /** The fault for this request, if one is queued for it (used up as it is taken). */
  take(method: string, path: string): FaultSpec | undefined;
}

export function createFaultQueue(): FaultQueue {
  const faultQueue: Array<FaultSpec & { remaining: number }> = [];
  const take = (method: string, path: string): FaultSpec | undefined => {
    const i = faultQueue.findIndex(
      (f) =>
        f.remaining > 0 &&
        (!f.method || f.method.toUpperCase() === method) &&
        (!f.path || (typeof f.path === 'string' ? f.path === path : f.path.test(path))),
    );
    const f = faultQueue[i];
    if (!f) return undefined;
    f.remaining--;
    if (f.remaining <= 0) faultQueue.splice(i, 1);
    return f;
  };
  return {
    take,
    controller: {
      add: (spec) => faultQueue.push({ ...spec, remaining: spec.times ?? 1 }),
      clear: () => faultQueue.splice(0, faultQueue.length),
      get pending() {
        return faultQueue;
      },
    },
  };
}

/** What a rate limit or server error answers instead of handling the request (other faults answer nothing). */
export function faultReply(fault: FaultSpec): Reply | undefined {
  if (fault.kind === 'rate_limit') {
    const headers: Record<string, string> = { 'retry-after': fault.retryAfter ?? '1' };
    if (fault.retryAfterMs !== undefined) headers['retry-after-ms'] = String(fault.retryAfterMs);
    const r = problem(429, 'Too Many Requests', 'Request was throttled. Your rate limit resets in ~1s.');
    return { ...r, headers: { ...r.headers, ...headers } };
  }
  if (fault.kind === 'server_error') return problem(fault.status ?? 500, 'Internal Server Error', 'An unexpected error occurred.');
  return undefined;
}

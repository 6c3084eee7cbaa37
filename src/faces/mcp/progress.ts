import type { ProgressUpdate } from '../../tools/types.js';

/**
 * The one place that turns a tool's progress into MCP `notifications/progress`: values must strictly increase
 * (the spec says so, and clients drop or reject the rest), so a repeat or a step back is not sent.
 */
export function monotonicProgress(send: (p: ProgressUpdate) => void): (p: ProgressUpdate) => void {
  let last = -Infinity;
  return (p) => {
    if (!Number.isFinite(p.progress) || p.progress <= last) return;
    last = p.progress;
    send(p);
  };
}

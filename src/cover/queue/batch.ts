/**
 * cover_batch on the cluster's queue: the batch is planned where the call runs (a worker, which can ask the
 * servers for their checkpoints), its drafts go on the queue for every worker's slots, and the caller waits by
 * reading the batch from the store. Nothing here holds a GPU: the process that waits may die without loss.
 */
import { defaultSleep } from '../../core/retry.js';
import { summarizeBatch, type BatchProgress, type BatchSummary } from '../batch.js';
import { enqueueDrafts, type QueueBatchDeps } from './drafts.js';

/** Queue the batch's pending drafts (again: nothing is doubled) and, with `wait`, wait for it to end. */
export async function runBatchOnQueue(
  s: QueueBatchDeps,
  batchId: string,
  o: { wait: boolean; signal: AbortSignal; deadline?: number | undefined; progress?: BatchProgress },
): Promise<BatchSummary> {
  let sum = await summarizeBatch(s, batchId);
  if (sum.batch.status !== 'running') return sum;
  const meta = sum.batch.meta as { queued_at?: number };
  if (meta.queued_at === undefined) await s.store.generation.updateBatch(batchId, { meta: { ...sum.batch.meta, queued_at: Date.now() } });
  await enqueueDrafts(s, batchId);
  if (!o.wait) return summarizeBatch(s, batchId);
  const until = o.deadline ?? Infinity;
  let reported = -1;
  while (sum.batch.status === 'running' && Date.now() < until && !o.signal.aborted) {
    if (sum.done !== reported) {
      reported = sum.done;
      o.progress?.({ done: sum.done, total: sum.drafts.length, message: `${sum.done}/${sum.drafts.length} drafts done` });
    }
    try {
      await defaultSleep(Math.min(250, Math.max(0, until - Date.now())), o.signal);
    } catch {
      break;
    }
    sum = await summarizeBatch(s, batchId);
  }
  return sum;
}

/**
 * The items dataset_collect has seen, keyed by image URL (or file:// path), so a feed polled every night
 * never takes the same image twice (stored by the store's `collected` repository). `added` and `duplicate` are
 * final; items that could not be placed (no coin, no project, a failed download) are tried again on the next
 * collection, up to MAX_ATTEMPTS for failures, so a project created later still receives them.
 */
import type { CollectedItem } from '../../store/repos/collected.js';

export type { CollectedStatus } from '../../store/repos/collected.js';

/** Failed downloads are retried on later collections this many times in all. */
export const MAX_ATTEMPTS = 3;

/** Is this item settled (never to be tried again)? */
export function isSettled(item: CollectedItem | undefined): boolean {
  if (!item) return false;
  if (item.status === 'added' || item.status === 'duplicate') return true;
  return item.status === 'failed' && item.attempts >= MAX_ATTEMPTS;
}

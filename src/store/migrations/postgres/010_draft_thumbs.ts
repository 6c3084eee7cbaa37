import type { Migration } from '../types.js';

/**
 * A draft made by a queue worker keeps its contact-sheet thumbnail (raw RGB of its cell) as a blob, made while the worker still has
 * the image, so the worker that settles the batch composes the sheet from small thumbnails instead of decoding
 * every draft at the end. The index serves the workers' "how fast is each server now" query (recent done drafts).
 */
export const draftThumbs: Migration = {
  id: '010_draft_thumbs',
  sql: `
ALTER TABLE drafts ADD COLUMN thumb_sha256 TEXT COLLATE "C"; -- NULL: made in process (its thumbnail lived in memory), or not done
CREATE INDEX drafts_status_updated ON drafts(status, updated_at);
`,
};

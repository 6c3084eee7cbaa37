import type { Migration } from '../types.js';

/**
 * The servers that refused a draft for a reason of their own (they lack its checkpoint or LoRA), as a JSON array
 * of server ids. Queue workers on any host read it, so no slot gives a draft to a server that refused it, as the
 * in-process pool does with its memory.
 */
export const draftRefusals: Migration = {
  id: '011_draft_refusals',
  sql: `
ALTER TABLE drafts ADD COLUMN refused_by TEXT COLLATE "C" NOT NULL DEFAULT '[]';
`,
};

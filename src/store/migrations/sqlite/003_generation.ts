import type { Migration } from '../types.js';

/**
 * Generation: draft batches, their drafts (one row per image to make, so a restarted batch knows what is
 * left), and selection statistics that drive checkpoint and LoRA-combination learning.
 */
export const generation: Migration = {
  id: '003_generation',
  sql: `
CREATE TABLE batches (
  id TEXT PRIMARY KEY,
  job_id TEXT,                          -- the persistent job that runs it
  title TEXT,
  subtitle TEXT,
  prompt TEXT NOT NULL,                 -- the image-model prompt (title coin + trigger words)
  negative_prompt TEXT,
  mode TEXT NOT NULL,                   -- explore | quick
  backend TEXT NOT NULL,                -- local | comfyui | replicate
  tier TEXT,                            -- checkpoint tier (sd15_draft, sdxl_standard, ...)
  scope TEXT NOT NULL,                  -- coin symbol or style the LoRA-combination learning is keyed on
  count INTEGER NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  status TEXT NOT NULL,                 -- running | done | failed | canceled
  contact_sheet_path TEXT,
  contact_sheet_sha256 TEXT,
  reviewed INTEGER NOT NULL DEFAULT 0,  -- 1 once drafts_select recorded a choice
  meta TEXT NOT NULL DEFAULT '{}',
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX batches_created ON batches(created_at);

CREATE TABLE drafts (
  id TEXT PRIMARY KEY,
  batch_id TEXT NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
  idx INTEGER NOT NULL,                 -- 0-based position in the batch
  checkpoint TEXT,                      -- null for backends without checkpoints (local)
  loras TEXT NOT NULL DEFAULT '[]',     -- JSON [{name, strength}]
  lora_combo TEXT NOT NULL,             -- canonical key of the LoRA names ('' = none)
  seed INTEGER NOT NULL,
  status TEXT NOT NULL,                 -- pending | done | failed
  attempts INTEGER NOT NULL DEFAULT 0,
  server TEXT,                          -- which server made it
  cover_id TEXT,
  blob_path TEXT,
  elapsed_ms INTEGER,
  error TEXT,
  selected INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  UNIQUE (batch_id, idx)
);

CREATE TABLE selection_stats (
  kind TEXT NOT NULL,                   -- checkpoint | lora_combo
  scope TEXT NOT NULL,                  -- '' for checkpoints; coin symbol or style for LoRA combinations
  arm TEXT NOT NULL,                    -- checkpoint file name, or LoRA combination key
  selected INTEGER NOT NULL DEFAULT 0,
  total INTEGER NOT NULL DEFAULT 0,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (kind, scope, arm)
);
`,
};

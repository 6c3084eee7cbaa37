import type { Migration } from '../types.js';

/**
 * Generation: draft batches, their drafts (one row per image to make, so a restarted batch knows what is
 * left), and selection statistics that drive checkpoint and LoRA-combination learning.
 */
export const generation: Migration = {
  id: '003_generation',
  sql: `
CREATE TABLE batches (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  id TEXT COLLATE "C" PRIMARY KEY,
  job_id TEXT COLLATE "C",                          -- the persistent job that runs it
  title TEXT COLLATE "C",
  subtitle TEXT COLLATE "C",
  prompt TEXT COLLATE "C" NOT NULL,                 -- the image-model prompt (title coin + trigger words)
  negative_prompt TEXT COLLATE "C",
  mode TEXT COLLATE "C" NOT NULL,                   -- explore | quick
  backend TEXT COLLATE "C" NOT NULL,                -- local | comfyui | replicate
  tier TEXT COLLATE "C",                            -- checkpoint tier (sd15_draft, sdxl_standard, ...)
  scope TEXT COLLATE "C" NOT NULL,                  -- coin symbol or style the LoRA-combination learning is keyed on
  count BIGINT NOT NULL,
  width BIGINT NOT NULL,
  height BIGINT NOT NULL,
  status TEXT COLLATE "C" NOT NULL,                 -- running | done | failed | canceled
  contact_sheet_path TEXT COLLATE "C",
  contact_sheet_sha256 TEXT COLLATE "C",
  reviewed BIGINT NOT NULL DEFAULT 0,  -- 1 once drafts_select recorded a choice
  meta TEXT COLLATE "C" NOT NULL DEFAULT '{}',
  created_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX batches_created ON batches(created_at);

CREATE TABLE drafts (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  id TEXT COLLATE "C" PRIMARY KEY,
  batch_id TEXT COLLATE "C" NOT NULL REFERENCES batches(id) ON DELETE CASCADE,
  idx BIGINT NOT NULL,                 -- 0-based position in the batch
  checkpoint TEXT COLLATE "C",                      -- null for backends without checkpoints (local)
  loras TEXT COLLATE "C" NOT NULL DEFAULT '[]',     -- JSON [{name, strength}]
  lora_combo TEXT COLLATE "C" NOT NULL,             -- canonical key of the LoRA names ('' = none)
  seed BIGINT NOT NULL,
  status TEXT COLLATE "C" NOT NULL,                 -- pending | done | failed
  attempts BIGINT NOT NULL DEFAULT 0,
  server TEXT COLLATE "C",                          -- which server made it
  cover_id TEXT COLLATE "C",
  blob_path TEXT COLLATE "C",
  elapsed_ms BIGINT,
  error TEXT COLLATE "C",
  selected BIGINT NOT NULL DEFAULT 0,
  created_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL,
  UNIQUE (batch_id, idx)
);

CREATE TABLE selection_stats (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  kind TEXT COLLATE "C" NOT NULL,                   -- checkpoint | lora_combo
  scope TEXT COLLATE "C" NOT NULL,                  -- '' for checkpoints; coin symbol or style for LoRA combinations
  arm TEXT COLLATE "C" NOT NULL,                    -- checkpoint file name, or LoRA combination key
  selected BIGINT NOT NULL DEFAULT 0,
  total BIGINT NOT NULL DEFAULT 0,
  updated_at TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (kind, scope, arm)
);
`,
};

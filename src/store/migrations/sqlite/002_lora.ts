import type { Migration } from '../types.js';

/**
 * LoRA projects, their training images, and their trained versions.
 * A project's `name` is the registry name; retraining makes v2, v3 of the same name.
 */
export const lora: Migration = {
  id: '002_lora',
  sql: `
CREATE TABLE loras (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  description TEXT,
  base_model TEXT NOT NULL,            -- flux | sdxl | sd15
  asset_type TEXT NOT NULL,            -- icons, product, logo, premium, coin, character, style, cover
  trigger_word TEXT NOT NULL,
  status TEXT NOT NULL,                -- created | uploading | training | ready | failed
  coins TEXT NOT NULL DEFAULT '[]',    -- JSON tickers this LoRA serves (routing)
  targets TEXT,                        -- JSON category target ranges for gap analysis
  vocabulary TEXT,                     -- JSON {concept: preferred word}
  active_version INTEGER,              -- version number used for generation
  default_strength REAL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);

CREATE TABLE lora_images (
  id TEXT PRIMARY KEY,
  lora_id TEXT NOT NULL REFERENCES loras(id) ON DELETE CASCADE,
  blob_sha256 TEXT NOT NULL,
  blob_path TEXT NOT NULL,
  pixel_hash TEXT NOT NULL,            -- sha256 of normalised pixels: exact-duplicate guard
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  format TEXT NOT NULL,
  source TEXT NOT NULL,                -- the path or URL it came from
  file_name TEXT NOT NULL,             -- original base name (the captioner reads coin names in it)
  caption TEXT,
  caption_status TEXT NOT NULL,        -- ok | pending (to be captioned later)
  caption_source TEXT,                 -- user | local | vision | variation
  tags TEXT NOT NULL DEFAULT '[]',     -- JSON string[]
  categories TEXT,                     -- JSON string[] (gap analysis categories), null = not yet classified
  derived_from TEXT,                   -- image id this one was made from (crop, flip)
  excluded INTEGER NOT NULL DEFAULT 0, -- 1 = kept but not sent to training (e.g. negative rating)
  warnings TEXT NOT NULL DEFAULT '[]', -- JSON string[] from decode (animated, converted, ...)
  created_at TEXT NOT NULL,
  UNIQUE (lora_id, pixel_hash)
);
CREATE INDEX lora_images_lora ON lora_images(lora_id, created_at);

CREATE TABLE lora_versions (
  id TEXT PRIMARY KEY,
  lora_id TEXT NOT NULL REFERENCES loras(id) ON DELETE CASCADE,
  version INTEGER NOT NULL,
  status TEXT NOT NULL,                -- ready | candidate | rejected
  file_sha256 TEXT,                    -- blob of the .safetensors (null for remote-only Replicate versions)
  file_path TEXT,
  file_bytes INTEGER,
  inspection TEXT,                     -- JSON LoraInspection
  params TEXT NOT NULL DEFAULT '{}',   -- JSON training params
  job_id TEXT,
  backend TEXT,                        -- replicate | kohya | import
  remote_version TEXT,                 -- Replicate model version id (owner/model:version)
  weights_url TEXT,
  created_at TEXT NOT NULL,
  UNIQUE (lora_id, version)
);
`,
};

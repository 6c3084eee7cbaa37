import type { Migration } from '../types.js';

/**
 * LoRA projects, their training images, and their trained versions.
 * A project's `name` is the registry name; retraining makes v2, v3 of the same name.
 */
export const lora: Migration = {
  id: '002_lora',
  sql: `
CREATE TABLE loras (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  id TEXT COLLATE "C" PRIMARY KEY,
  name TEXT COLLATE "C" NOT NULL UNIQUE,
  description TEXT COLLATE "C",
  base_model TEXT COLLATE "C" NOT NULL,            -- flux | sdxl | sd15
  asset_type TEXT COLLATE "C" NOT NULL,            -- icons, product, logo, premium, coin, character, style, cover
  trigger_word TEXT COLLATE "C" NOT NULL,
  status TEXT COLLATE "C" NOT NULL,                -- created | uploading | training | ready | failed
  coins TEXT COLLATE "C" NOT NULL DEFAULT '[]',    -- JSON tickers this LoRA serves (routing)
  targets TEXT COLLATE "C",                        -- JSON category target ranges for gap analysis
  vocabulary TEXT COLLATE "C",                     -- JSON {concept: preferred word}
  active_version BIGINT,              -- version number used for generation
  default_strength DOUBLE PRECISION,
  created_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE lora_images (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  id TEXT COLLATE "C" PRIMARY KEY,
  lora_id TEXT COLLATE "C" NOT NULL REFERENCES loras(id) ON DELETE CASCADE,
  blob_sha256 TEXT COLLATE "C" NOT NULL,
  blob_path TEXT COLLATE "C" NOT NULL,
  pixel_hash TEXT COLLATE "C" NOT NULL,            -- sha256 of normalised pixels: exact-duplicate guard
  width BIGINT NOT NULL,
  height BIGINT NOT NULL,
  format TEXT COLLATE "C" NOT NULL,
  source TEXT COLLATE "C" NOT NULL,                -- the path or URL it came from
  file_name TEXT COLLATE "C" NOT NULL,             -- original base name (the captioner reads coin names in it)
  caption TEXT COLLATE "C",
  caption_status TEXT COLLATE "C" NOT NULL,        -- ok | pending (to be captioned later)
  caption_source TEXT COLLATE "C",                 -- user | local | vision | variation
  tags TEXT COLLATE "C" NOT NULL DEFAULT '[]',     -- JSON string[]
  categories TEXT COLLATE "C",                     -- JSON string[] (gap analysis categories), null = not yet classified
  derived_from TEXT COLLATE "C",                   -- image id this one was made from (crop, flip)
  excluded BIGINT NOT NULL DEFAULT 0, -- 1 = kept but not sent to training (e.g. negative rating)
  warnings TEXT COLLATE "C" NOT NULL DEFAULT '[]', -- JSON string[] from decode (animated, converted, ...)
  created_at TEXT COLLATE "C" NOT NULL,
  UNIQUE (lora_id, pixel_hash)
);
CREATE INDEX lora_images_lora ON lora_images(lora_id, created_at);

CREATE TABLE lora_versions (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  id TEXT COLLATE "C" PRIMARY KEY,
  lora_id TEXT COLLATE "C" NOT NULL REFERENCES loras(id) ON DELETE CASCADE,
  version BIGINT NOT NULL,
  status TEXT COLLATE "C" NOT NULL,                -- ready | candidate | rejected
  file_sha256 TEXT COLLATE "C",                    -- blob of the .safetensors (null for remote-only Replicate versions)
  file_path TEXT COLLATE "C",
  file_bytes BIGINT,
  inspection TEXT COLLATE "C",                     -- JSON LoraInspection
  params TEXT COLLATE "C" NOT NULL DEFAULT '{}',   -- JSON training params
  job_id TEXT COLLATE "C",
  backend TEXT COLLATE "C",                        -- replicate | kohya | import
  remote_version TEXT COLLATE "C",                 -- Replicate model version id (owner/model:version)
  weights_url TEXT COLLATE "C",
  created_at TEXT COLLATE "C" NOT NULL,
  UNIQUE (lora_id, version)
);
`,
};

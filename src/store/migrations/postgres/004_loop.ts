import type { Migration } from '../types.js';

/**
 * The loop: ratings of covers, the positive/negative feedback sets of each LoRA they make, stored
 * critiques, and per-cover fingerprints (perceptual hash and measured palette) so the near-duplicate and
 * palette-novelty checks compare against recent covers without decoding their PNGs again.
 */
export const loop: Migration = {
  id: '004_loop',
  sql: `
CREATE TABLE ratings (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  id TEXT COLLATE "C" PRIMARY KEY,
  cover_id TEXT COLLATE "C" NOT NULL REFERENCES covers(id) ON DELETE CASCADE,
  stars BIGINT NOT NULL CHECK (stars BETWEEN 1 AND 5),
  comment TEXT COLLATE "C",
  rater TEXT COLLATE "C" NOT NULL,                  -- who rated ('' = anonymous); a rater's latest rating of a cover counts
  lora TEXT COLLATE "C",                            -- LoRA name the cover was made with (null = none)
  lora_version BIGINT,
  coin TEXT COLLATE "C",                            -- primary coin symbol of the cover
  checkpoint TEXT COLLATE "C",                      -- checkpoint file name (null for the local renderer)
  created_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX ratings_cover ON ratings(cover_id, rater, created_at);
CREATE INDEX ratings_created ON ratings(created_at);

CREATE TABLE lora_feedback (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  lora TEXT COLLATE "C" NOT NULL,                   -- LoRA name
  cover_id TEXT COLLATE "C" NOT NULL REFERENCES covers(id) ON DELETE CASCADE,
  polarity TEXT COLLATE "C" NOT NULL,               -- positive | negative
  mean_stars DOUBLE PRECISION NOT NULL,             -- mean of the raters' latest ratings
  lora_version BIGINT,
  updated_at TEXT COLLATE "C" NOT NULL,
  PRIMARY KEY (lora, cover_id)
);
CREATE INDEX lora_feedback_updated ON lora_feedback(lora, updated_at);

CREATE TABLE critiques (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  id TEXT COLLATE "C" PRIMARY KEY,
  cover_id TEXT COLLATE "C",                        -- null when a file that is not a cover was critiqued
  path TEXT COLLATE "C" NOT NULL,
  score DOUBLE PRECISION NOT NULL,                  -- combined 0..1
  metric_score DOUBLE PRECISION NOT NULL,
  checks TEXT COLLATE "C" NOT NULL,                 -- JSON [{name, passed, value, detail}]
  vision TEXT COLLATE "C",                          -- JSON findings or null
  expect TEXT COLLATE "C" NOT NULL DEFAULT '{}',    -- JSON what the cover was checked against
  created_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX critiques_cover ON critiques(cover_id, created_at);

CREATE TABLE cover_fingerprints (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  cover_id TEXT COLLATE "C" PRIMARY KEY REFERENCES covers(id) ON DELETE CASCADE,
  phash TEXT COLLATE "C" NOT NULL,                  -- 64-bit DCT hash (src/dataset/metrics.ts)
  palette TEXT COLLATE "C" NOT NULL,                -- JSON palette measured from the pixels (extractPalette)
  created_at TEXT COLLATE "C" NOT NULL
);
`,
};

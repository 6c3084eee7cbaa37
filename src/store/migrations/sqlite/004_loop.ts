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
  id TEXT PRIMARY KEY,
  cover_id TEXT NOT NULL REFERENCES covers(id) ON DELETE CASCADE,
  stars INTEGER NOT NULL CHECK (stars BETWEEN 1 AND 5),
  comment TEXT,
  rater TEXT NOT NULL,                  -- who rated ('' = anonymous); a rater's latest rating of a cover counts
  lora TEXT,                            -- LoRA name the cover was made with (null = none)
  lora_version INTEGER,
  coin TEXT,                            -- primary coin symbol of the cover
  checkpoint TEXT,                      -- checkpoint file name (null for the local renderer)
  created_at TEXT NOT NULL
);
CREATE INDEX ratings_cover ON ratings(cover_id, rater, created_at);
CREATE INDEX ratings_created ON ratings(created_at);

CREATE TABLE lora_feedback (
  lora TEXT NOT NULL,                   -- LoRA name
  cover_id TEXT NOT NULL REFERENCES covers(id) ON DELETE CASCADE,
  polarity TEXT NOT NULL,               -- positive | negative
  mean_stars REAL NOT NULL,             -- mean of the raters' latest ratings
  lora_version INTEGER,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (lora, cover_id)
);
CREATE INDEX lora_feedback_updated ON lora_feedback(lora, updated_at);

CREATE TABLE critiques (
  id TEXT PRIMARY KEY,
  cover_id TEXT,                        -- null when a file that is not a cover was critiqued
  path TEXT NOT NULL,
  score REAL NOT NULL,                  -- combined 0..1
  metric_score REAL NOT NULL,
  checks TEXT NOT NULL,                 -- JSON [{name, passed, value, detail}]
  vision TEXT,                          -- JSON findings or null
  expect TEXT NOT NULL DEFAULT '{}',    -- JSON what the cover was checked against
  created_at TEXT NOT NULL
);
CREATE INDEX critiques_cover ON critiques(cover_id, created_at);

CREATE TABLE cover_fingerprints (
  cover_id TEXT PRIMARY KEY REFERENCES covers(id) ON DELETE CASCADE,
  phash TEXT NOT NULL,                  -- 64-bit DCT hash (src/dataset/metrics.ts)
  palette TEXT NOT NULL,                -- JSON palette measured from the pixels (extractPalette)
  created_at TEXT NOT NULL
);
`,
};

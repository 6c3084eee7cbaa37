import type { Migration } from '../types.js';

/**
 * The nightly improvement run (issue 6): runs, their persisted steps (so a killed run continues where it
 * stopped), and the items dataset_collect has seen (so no feed image is taken twice).
 */
export const improve: Migration = {
  id: '007_improve',
  sql: `
CREATE TABLE improve_runs (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  id TEXT COLLATE "C" PRIMARY KEY,
  status TEXT COLLATE "C" NOT NULL,              -- running | succeeded | failed | canceled
  loras TEXT COLLATE "C",                        -- JSON string[] the run was limited to, or null = every project
  since TEXT COLLATE "C" NOT NULL,               -- what is "new" is newer than this (the previous run's start)
  owner TEXT COLLATE "C",                        -- process that runs it now (the lease improve_run says who is alive)
  summary TEXT COLLATE "C",                      -- JSON summary once finished
  report_path TEXT COLLATE "C",                  -- the HTML report
  error TEXT COLLATE "C",
  started_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL,
  finished_at TEXT COLLATE "C"
);
CREATE INDEX improve_runs_started ON improve_runs(started_at);

CREATE TABLE improve_steps (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  run_id TEXT COLLATE "C" NOT NULL REFERENCES improve_runs(id) ON DELETE CASCADE,
  lora_id TEXT COLLATE "C" NOT NULL,             -- '' for run-wide steps (gather, report)
  step TEXT COLLATE "C" NOT NULL,                -- gather | curate | analyze | decide | train | evaluate | promote | report
  status TEXT COLLATE "C" NOT NULL,              -- running | done | skipped | failed
  data TEXT COLLATE "C" NOT NULL DEFAULT '{}',   -- JSON: what the step found or did (enough to resume it)
  started_at TEXT COLLATE "C" NOT NULL,
  finished_at TEXT COLLATE "C",
  PRIMARY KEY (run_id, lora_id, step)
);

CREATE TABLE collected_items (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  key TEXT COLLATE "C" PRIMARY KEY,              -- the image URL, or file://<real path> for a folder
  source TEXT COLLATE "C" NOT NULL,              -- the feed URL or folder it came from
  title TEXT COLLATE "C" NOT NULL,
  article_url TEXT COLLATE "C",
  coin TEXT COLLATE "C",                         -- primary coin detected in the title
  lora_id TEXT COLLATE "C",
  image_id TEXT COLLATE "C",
  status TEXT COLLATE "C" NOT NULL,              -- added | duplicate | no_coin | no_project | failed
  detail TEXT COLLATE "C",
  attempts BIGINT NOT NULL DEFAULT 1,
  first_seen_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX collected_items_updated ON collected_items(updated_at);
`,
};

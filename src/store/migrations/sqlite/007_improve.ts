import type { Migration } from '../types.js';

/**
 * The nightly improvement run (issue 6): runs, their persisted steps (so a killed run continues where it
 * stopped), and the items dataset_collect has seen (so no feed image is taken twice).
 */
export const improve: Migration = {
  id: '007_improve',
  sql: `
CREATE TABLE improve_runs (
  id TEXT PRIMARY KEY,
  status TEXT NOT NULL,              -- running | succeeded | failed | canceled
  loras TEXT,                        -- JSON string[] the run was limited to, or null = every project
  since TEXT NOT NULL,               -- what is "new" is newer than this (the previous run's start)
  owner TEXT,                        -- process that runs it now (the lease improve_run says who is alive)
  summary TEXT,                      -- JSON summary once finished
  report_path TEXT,                  -- the HTML report
  error TEXT,
  started_at TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  finished_at TEXT
);
CREATE INDEX improve_runs_started ON improve_runs(started_at);

CREATE TABLE improve_steps (
  run_id TEXT NOT NULL REFERENCES improve_runs(id) ON DELETE CASCADE,
  lora_id TEXT NOT NULL,             -- '' for run-wide steps (gather, report)
  step TEXT NOT NULL,                -- gather | curate | analyze | decide | train | evaluate | promote | report
  status TEXT NOT NULL,              -- running | done | skipped | failed
  data TEXT NOT NULL DEFAULT '{}',   -- JSON: what the step found or did (enough to resume it)
  started_at TEXT NOT NULL,
  finished_at TEXT,
  PRIMARY KEY (run_id, lora_id, step)
);

CREATE TABLE collected_items (
  key TEXT PRIMARY KEY,              -- the image URL, or file://<real path> for a folder
  source TEXT NOT NULL,              -- the feed URL or folder it came from
  title TEXT NOT NULL,
  article_url TEXT,
  coin TEXT,                         -- primary coin detected in the title
  lora_id TEXT,
  image_id TEXT,
  status TEXT NOT NULL,              -- added | duplicate | no_coin | no_project | failed
  detail TEXT,
  attempts INTEGER NOT NULL DEFAULT 1,
  first_seen_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX collected_items_updated ON collected_items(updated_at);
`,
};

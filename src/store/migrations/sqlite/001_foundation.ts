import type { Migration } from '../types.js';

/** Foundation: covers, registered logos, generic persistent jobs, leases and a small key-value table. */
export const foundation: Migration = {
  id: '001_foundation',
  sql: `
CREATE TABLE covers (
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  title TEXT NOT NULL,
  subtitle TEXT,
  coins TEXT NOT NULL,            -- JSON [{symbol,name,primary}]
  primary_symbol TEXT,
  lora TEXT,                      -- JSON {name,version,strength} or null
  seed INTEGER NOT NULL,
  width INTEGER NOT NULL,
  height INTEGER NOT NULL,
  style TEXT,
  palette TEXT NOT NULL,          -- JSON Palette
  logo TEXT,                      -- JSON {symbol,source,style,box}
  text_box TEXT,                  -- JSON Box
  backend TEXT NOT NULL DEFAULT 'local',
  checkpoint TEXT,
  loras TEXT,                     -- JSON [{name,version,strength}]
  batch_id TEXT,
  blob_sha256 TEXT NOT NULL,
  blob_path TEXT NOT NULL,
  meta TEXT                       -- JSON, backend details
);
CREATE INDEX covers_created ON covers(created_at);
CREATE INDEX covers_symbol ON covers(primary_symbol, created_at);

CREATE TABLE logos (
  symbol TEXT PRIMARY KEY,
  blob_sha256 TEXT NOT NULL,
  blob_path TEXT NOT NULL,
  mime_type TEXT NOT NULL,
  registered_at TEXT NOT NULL
);

CREATE TABLE jobs (
  id TEXT PRIMARY KEY,
  kind TEXT NOT NULL,             -- training, batch, improve, ...
  status TEXT NOT NULL,           -- queued, running/training, ready/succeeded, failed, canceled
  subject_id TEXT,                -- e.g. lora_id or batch_id
  backend TEXT,
  remote_id TEXT,                 -- id at the backend, stored before anything else can fail
  progress REAL NOT NULL DEFAULT 0,
  state TEXT NOT NULL DEFAULT '{}', -- JSON, kind-specific
  error TEXT,
  owner TEXT,                     -- process currently following the job
  owner_until TEXT,               -- lease expiry for the owner
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX jobs_kind_status ON jobs(kind, status);
CREATE INDEX jobs_subject ON jobs(subject_id);

CREATE TABLE leases (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  expires_at TEXT NOT NULL
);

CREATE TABLE kv (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
`,
};

import type { Migration } from '../types.js';

/** Foundation: covers, registered logos, generic persistent jobs, leases and a small key-value table. */
export const foundation: Migration = {
  id: '001_foundation',
  sql: `
CREATE TABLE covers (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  id TEXT COLLATE "C" PRIMARY KEY,
  created_at TEXT COLLATE "C" NOT NULL,
  title TEXT COLLATE "C" NOT NULL,
  subtitle TEXT COLLATE "C",
  coins TEXT COLLATE "C" NOT NULL,            -- JSON [{symbol,name,primary}]
  primary_symbol TEXT COLLATE "C",
  lora TEXT COLLATE "C",                      -- JSON {name,version,strength} or null
  seed BIGINT NOT NULL,
  width BIGINT NOT NULL,
  height BIGINT NOT NULL,
  style TEXT COLLATE "C",
  palette TEXT COLLATE "C" NOT NULL,          -- JSON Palette
  logo TEXT COLLATE "C",                      -- JSON {symbol,source,style,box}
  text_box TEXT COLLATE "C",                  -- JSON Box
  backend TEXT COLLATE "C" NOT NULL DEFAULT 'local',
  checkpoint TEXT COLLATE "C",
  loras TEXT COLLATE "C",                     -- JSON [{name,version,strength}]
  batch_id TEXT COLLATE "C",
  blob_sha256 TEXT COLLATE "C" NOT NULL,
  blob_path TEXT COLLATE "C" NOT NULL,
  meta TEXT COLLATE "C"                       -- JSON, backend details
);
CREATE INDEX covers_created ON covers(created_at);
CREATE INDEX covers_symbol ON covers(primary_symbol, created_at);

CREATE TABLE logos (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  symbol TEXT COLLATE "C" PRIMARY KEY,
  blob_sha256 TEXT COLLATE "C" NOT NULL,
  blob_path TEXT COLLATE "C" NOT NULL,
  mime_type TEXT COLLATE "C" NOT NULL,
  registered_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE jobs (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  id TEXT COLLATE "C" PRIMARY KEY,
  kind TEXT COLLATE "C" NOT NULL,             -- training, batch, improve, ...
  status TEXT COLLATE "C" NOT NULL,           -- queued, running/training, ready/succeeded, failed, canceled
  subject_id TEXT COLLATE "C",                -- e.g. lora_id or batch_id
  backend TEXT COLLATE "C",
  remote_id TEXT COLLATE "C",                 -- id at the backend, stored before anything else can fail
  progress DOUBLE PRECISION NOT NULL DEFAULT 0,
  state TEXT COLLATE "C" NOT NULL DEFAULT '{}', -- JSON, kind-specific
  error TEXT COLLATE "C",
  owner TEXT COLLATE "C",                     -- process currently following the job
  owner_until TEXT COLLATE "C",               -- lease expiry for the owner
  created_at TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX jobs_kind_status ON jobs(kind, status);
CREATE INDEX jobs_subject ON jobs(subject_id);

CREATE TABLE leases (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  name TEXT COLLATE "C" PRIMARY KEY,
  owner TEXT COLLATE "C" NOT NULL,
  expires_at TEXT COLLATE "C" NOT NULL
);

CREATE TABLE kv (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  key TEXT COLLATE "C" PRIMARY KEY,
  value TEXT COLLATE "C" NOT NULL,
  updated_at TEXT COLLATE "C" NOT NULL
);
`,
};

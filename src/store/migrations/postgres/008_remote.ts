import type { Migration } from '../types.js';

/**
 * Remote clients (issue 10): artifacts that tools made or named, addressed by `loraloop://` URIs and signed
 * download URLs; the embedded OAuth server's records (clients, grants, codes, tokens), so a restart keeps every
 * connector signed in; and single-use upload slots for training images.
 */
export const remote: Migration = {
  id: '008_remote',
  sql: `
CREATE TABLE artifacts (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  id TEXT COLLATE "C" PRIMARY KEY,               -- sha256 of the real path, shortened: the same file keeps its URI
  path TEXT COLLATE "C" NOT NULL UNIQUE,         -- absolute path on this host
  name TEXT COLLATE "C" NOT NULL,                -- file name shown to clients
  mime_type TEXT COLLATE "C" NOT NULL,
  created_at TEXT COLLATE "C" NOT NULL
);
CREATE INDEX artifacts_created ON artifacts(created_at);

CREATE TABLE oauth_records (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  model TEXT COLLATE "C" NOT NULL,               -- oidc-provider model: Client, Grant, AuthorizationCode, RefreshToken, AccessToken, Session, Interaction
  id TEXT COLLATE "C" NOT NULL,
  payload TEXT COLLATE "C" NOT NULL,             -- JSON, as the provider gave it
  grant_id TEXT COLLATE "C",                     -- lets a revocation drop every token of a grant at once
  uid TEXT COLLATE "C",                          -- sessions are also found by uid
  consumed_at TEXT COLLATE "C",
  expires_at TEXT COLLATE "C",                   -- ISO time; NULL = no expiry
  PRIMARY KEY (model, id)
);
CREATE INDEX oauth_records_grant ON oauth_records(grant_id);
CREATE INDEX oauth_records_uid ON oauth_records(uid);

CREATE TABLE upload_slots (
  seq BIGINT GENERATED ALWAYS AS IDENTITY, -- insertion order (SQLite: rowid)
  id TEXT COLLATE "C" PRIMARY KEY,
  lora_id TEXT COLLATE "C" NOT NULL,
  max_bytes BIGINT NOT NULL,
  expires_at TEXT COLLATE "C" NOT NULL,
  used_at TEXT COLLATE "C",                      -- set once, atomically: a second PUT to the same URL is refused
  result TEXT COLLATE "C"                        -- JSON: what the upload added (or why it was refused)
);
`,
};

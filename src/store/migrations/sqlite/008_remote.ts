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
  id TEXT PRIMARY KEY,               -- sha256 of the real path, shortened: the same file keeps its URI
  path TEXT NOT NULL UNIQUE,         -- absolute path on this host
  name TEXT NOT NULL,                -- file name shown to clients
  mime_type TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE INDEX artifacts_created ON artifacts(created_at);

CREATE TABLE oauth_records (
  model TEXT NOT NULL,               -- oidc-provider model: Client, Grant, AuthorizationCode, RefreshToken, AccessToken, Session, Interaction
  id TEXT NOT NULL,
  payload TEXT NOT NULL,             -- JSON, as the provider gave it
  grant_id TEXT,                     -- lets a revocation drop every token of a grant at once
  uid TEXT,                          -- sessions are also found by uid
  consumed_at TEXT,
  expires_at TEXT,                   -- ISO time; NULL = no expiry
  PRIMARY KEY (model, id)
);
CREATE INDEX oauth_records_grant ON oauth_records(grant_id);
CREATE INDEX oauth_records_uid ON oauth_records(uid);

CREATE TABLE upload_slots (
  id TEXT PRIMARY KEY,
  lora_id TEXT NOT NULL,
  max_bytes INTEGER NOT NULL,
  expires_at TEXT NOT NULL,
  used_at TEXT,                      -- set once, atomically: a second PUT to the same URL is refused
  result TEXT                        -- JSON: what the upload added (or why it was refused)
);
`,
};

/**
 * The tables as Kysely sees them: one interface per table, columns as stored. JSON columns are text here;
 * the repos parse them with zod (src/store/json.ts) so a corrupt row is reported where it is read.
 * `Generated` marks columns whose default the repos rely on when inserting.
 */
import type { Generated } from 'kysely';

type Json = string;

export interface CoversTable {
  id: string;
  created_at: string;
  title: string;
  subtitle: string | null;
  coins: Json;
  primary_symbol: string | null;
  lora: Json | null;
  seed: number;
  width: number;
  height: number;
  style: string | null;
  palette: Json;
  logo: Json | null;
  text_box: Json | null;
  backend: Generated<string>;
  checkpoint: string | null;
  loras: Json | null;
  batch_id: string | null;
  blob_sha256: string;
  blob_path: string;
  meta: Json | null;
}

export interface LogosTable {
  symbol: string;
  blob_sha256: string;
  blob_path: string;
  mime_type: string;
  registered_at: string;
}

export interface JobsTable {
  id: string;
  kind: string;
  status: string;
  subject_id: string | null;
  backend: string | null;
  remote_id: string | null;
  progress: number;
  state: Json;
  error: string | null;
  owner: string | null;
  owner_until: string | null;
  created_at: string;
  updated_at: string;
}

export interface LeasesTable {
  name: string;
  owner: string;
  expires_at: string;
}

export interface KvTable {
  key: string;
  value: Json;
  updated_at: string;
}

export interface LorasTable {
  id: string;
  name: string;
  description: string | null;
  base_model: string;
  asset_type: string;
  trigger_word: string;
  status: string;
  coins: Json;
  targets: Json | null;
  vocabulary: Json | null;
  active_version: number | null;
  default_strength: number | null;
  created_at: string;
  updated_at: string;
}

export interface LoraImagesTable {
  id: string;
  lora_id: string;
  blob_sha256: string;
  blob_path: string;
  pixel_hash: string;
  width: number;
  height: number;
  format: string;
  source: string;
  file_name: string;
  caption: string | null;
  caption_status: string;
  caption_source: string | null;
  tags: Json;
  categories: Json | null;
  derived_from: string | null;
  /** 0 | 1 */
  excluded: number;
  warnings: Json;
  created_at: string;
}

export interface LoraVersionsTable {
  id: string;
  lora_id: string;
  version: number;
  status: string;
  file_sha256: string | null;
  file_path: string | null;
  file_bytes: number | null;
  inspection: Json | null;
  params: Json;
  job_id: string | null;
  backend: string | null;
  remote_version: string | null;
  weights_url: string | null;
  created_at: string;
}

export interface BatchesTable {
  id: string;
  job_id: string | null;
  title: string | null;
  subtitle: string | null;
  prompt: string;
  negative_prompt: string | null;
  mode: string;
  backend: string;
  tier: string | null;
  scope: string;
  count: number;
  width: number;
  height: number;
  status: string;
  contact_sheet_path: string | null;
  contact_sheet_sha256: string | null;
  /** 0 | 1 */
  reviewed: number;
  meta: Json;
  created_at: string;
  updated_at: string;
}

export interface DraftsTable {
  id: string;
  batch_id: string;
  idx: number;
  checkpoint: string | null;
  loras: Json;
  lora_combo: string;
  seed: number;
  status: string;
  attempts: number;
  server: string | null;
  cover_id: string | null;
  blob_path: string | null;
  elapsed_ms: number | null;
  error: string | null;
  /** 0 | 1 */
  selected: number;
  /** The contact-sheet thumbnail a queue worker stored as a blob (migration 010). */
  thumb_sha256: string | null;
  /** JSON array of the servers that refused it for a reason of their own (migration 011). */
  refused_by: Generated<Json>;
  created_at: string;
  updated_at: string;
}

export interface SelectionStatsTable {
  kind: string;
  scope: string;
  arm: string;
  selected: number;
  total: number;
  updated_at: string;
}

export interface RatingsTable {
  id: string;
  cover_id: string;
  stars: number;
  comment: string | null;
  /** Who rated ('' = anonymous). A rater's latest rating of a cover replaces their earlier ones. */
  rater: string;
  lora: string | null;
  lora_version: number | null;
  coin: string | null;
  checkpoint: string | null;
  created_at: string;
}

export interface LoraFeedbackTable {
  lora: string;
  cover_id: string;
  polarity: string;
  mean_stars: number;
  lora_version: number | null;
  updated_at: string;
}

export interface CritiquesTable {
  id: string;
  cover_id: string | null;
  path: string;
  score: number;
  metric_score: number;
  checks: Json;
  vision: Json | null;
  expect: Json;
  created_at: string;
}

export interface CoverFingerprintsTable {
  cover_id: string;
  phash: string;
  palette: Json;
  created_at: string;
}

export interface ImproveRunsTable {
  id: string;
  status: string;
  loras: Json | null;
  since: string;
  owner: string | null;
  summary: Json | null;
  report_path: string | null;
  error: string | null;
  started_at: string;
  updated_at: string;
  finished_at: string | null;
}

export interface ImproveStepsTable {
  run_id: string;
  lora_id: string;
  step: string;
  status: string;
  data: Json;
  started_at: string;
  finished_at: string | null;
}

export interface CollectedItemsTable {
  key: string;
  source: string;
  title: string;
  article_url: string | null;
  coin: string | null;
  lora_id: string | null;
  image_id: string | null;
  status: string;
  detail: string | null;
  attempts: number;
  first_seen_at: string;
  updated_at: string;
}

export interface ArtifactsTable {
  id: string;
  path: string;
  name: string;
  mime_type: string;
  created_at: string;
  blob_sha256: string | null;
}

export interface OAuthRecordsTable {
  model: string;
  id: string;
  payload: Json;
  grant_id: string | null;
  uid: string | null;
  consumed_at: string | null;
  expires_at: string | null;
}

export interface UploadSlotsTable {
  id: string;
  lora_id: string;
  max_bytes: number;
  expires_at: string;
  used_at: string | null;
  result: Json | null;
}

export interface SchemaMigrationsTable {
  id: string;
  applied_at: string;
}

/** Every table of the store. */
export interface Database {
  covers: CoversTable;
  logos: LogosTable;
  jobs: JobsTable;
  leases: LeasesTable;
  kv: KvTable;
  loras: LorasTable;
  lora_images: LoraImagesTable;
  lora_versions: LoraVersionsTable;
  batches: BatchesTable;
  drafts: DraftsTable;
  selection_stats: SelectionStatsTable;
  ratings: RatingsTable;
  lora_feedback: LoraFeedbackTable;
  critiques: CritiquesTable;
  cover_fingerprints: CoverFingerprintsTable;
  improve_runs: ImproveRunsTable;
  improve_steps: ImproveStepsTable;
  collected_items: CollectedItemsTable;
  artifacts: ArtifactsTable;
  oauth_records: OAuthRecordsTable;
  upload_slots: UploadSlotsTable;
  schema_migrations: SchemaMigrationsTable;
}

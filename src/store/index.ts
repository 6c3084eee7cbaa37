import { createBlobStore, type BlobStore } from './blobs.js';
import { openDatabase, type Db } from './db.js';
import { migrations } from './migrations/index.js';
import { createCoversRepo, type CoversRepo } from './repos/covers.js';
import { createGenerationRepo, type GenerationRepo } from './repos/generation.js';
import { createCritiquesRepo, type CritiquesRepo } from './repos/critiques.js';
import { createRatingsRepo, type RatingsRepo } from './repos/ratings.js';
import { createJobsRepo, type JobsRepo } from './repos/jobs.js';
import { createKvRepo, type KvRepo } from './repos/kv.js';
import { createLeasesRepo, type LeasesRepo } from './repos/leases.js';
import { createLogosRepo, type LogosRepo } from './repos/logos.js';
import { createLorasRepo, type LorasRepo } from './repos/loras.js';
import { createArtifactsRepo, type ArtifactsRepo } from './repos/artifacts.js';
import { createOAuthRecordsRepo, type OAuthRecordsRepo } from './repos/oauth.js';
import { createUploadSlotsRepo, type UploadSlotsRepo } from './repos/uploads.js';

/** The store: one SQLite file plus content-addressed blobs, with one repository per aggregate. */
export interface Store {
  db: Db;
  blobs: BlobStore;
  covers: CoversRepo;
  logos: LogosRepo;
  jobs: JobsRepo;
  leases: LeasesRepo;
  kv: KvRepo;
  loras: LorasRepo;
  /** Draft batches, drafts and selection statistics (issue 5). */
  generation: GenerationRepo;
  /** Cover ratings and each LoRA's positive/negative feedback sets (issue 6). */
  ratings: RatingsRepo;
  /** Stored critiques and the perceptual-hash cache of covers (issue 6). */
  critiques: CritiquesRepo;
  /** Files published to remote clients as loraloop:// resources and signed links (issue 10). */
  artifacts: ArtifactsRepo;
  /** The embedded OAuth server's clients, grants and tokens. */
  oauth: OAuthRecordsRepo;
  /** Single-use upload URLs for training images. */
  uploads: UploadSlotsRepo;
  close(): void;
}

export function createStore(home: string, now: () => Date = () => new Date()): Store {
  const db = openDatabase(home, migrations);
  const blobs = createBlobStore(home);
  return {
    db,
    blobs,
    covers: createCoversRepo(db, now),
    logos: createLogosRepo(db, now),
    jobs: createJobsRepo(db, now),
    leases: createLeasesRepo(db, now),
    kv: createKvRepo(db, now),
    loras: createLorasRepo(db, now),
    generation: createGenerationRepo(db, now),
    ratings: createRatingsRepo(db, now),
    critiques: createCritiquesRepo(db, now),
    artifacts: createArtifactsRepo(db, now),
    oauth: createOAuthRecordsRepo(db, now),
    uploads: createUploadSlotsRepo(db, now),
    close: () => db.close(),
  };
}

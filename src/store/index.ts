import { createBlobStore, type BlobStore } from './blobs.js';
import { openDatabase, type Db } from './db.js';
import { migrations } from './migrations/index.js';
import { createCoversRepo, type CoversRepo } from './repos/covers.js';
import { createGenerationRepo, type GenerationRepo } from './repos/generation.js';
import { createJobsRepo, type JobsRepo } from './repos/jobs.js';
import { createKvRepo, type KvRepo } from './repos/kv.js';
import { createLeasesRepo, type LeasesRepo } from './repos/leases.js';
import { createLogosRepo, type LogosRepo } from './repos/logos.js';
import { createLorasRepo, type LorasRepo } from './repos/loras.js';

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
    close: () => db.close(),
  };
}

import type { Kysely } from 'kysely';
import type { StoreBackend } from './backend.js';
import { createBlobStore, type BlobStore } from './blobs.js';
import type { RepoContext } from './context.js';
import { migrate } from './migrate.js';
import { createArtifactsRepo, type ArtifactsRepo } from './repos/artifacts.js';
import { createCollectedItemsRepo, type CollectedItemsRepo } from './repos/collected.js';
import { createCoversRepo, type CoversRepo } from './repos/covers.js';
import { createCritiquesRepo, type CritiquesRepo } from './repos/critiques.js';
import { createGenerationRepo, type GenerationRepo } from './repos/generation.js';
import { createImproveRepo, type ImproveRepo } from './repos/improve.js';
import { createJobsRepo, type JobsRepo } from './repos/jobs.js';
import { createKvRepo, type KvRepo } from './repos/kv.js';
import { createLeasesRepo, type LeasesRepo } from './repos/leases.js';
import { createLogosRepo, type LogosRepo } from './repos/logos.js';
import { createLorasRepo, type LorasRepo } from './repos/loras.js';
import { createOAuthRecordsRepo, type OAuthRecordsRepo } from './repos/oauth.js';
import { createRatingsRepo, type RatingsRepo } from './repos/ratings.js';
import { createUploadSlotsRepo, type UploadSlotsRepo } from './repos/uploads.js';
import type { Database } from './schema.js';
import { createSqliteBackend } from './sqlite.js';
import { blobStoreFor } from './objects/index.js';
import type { BlobLocation } from '../core/blob-location.js';
import { createPostgresBackend } from './postgres.js';
import { LoraloopError } from '../core/errors.js';
import { bindTransaction } from './tx.js';

/** One repository per aggregate. Every method is async; the same set is bound to a transaction in `transaction`. */
export interface Repos {
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
  /** Runs and steps of the nightly improvement run (issue 6). */
  improve: ImproveRepo;
  /** Feed and folder items dataset_collect has seen. */
  collected: CollectedItemsRepo;
  /** Files published to remote clients as loraloop:// resources and signed links (issue 10). */
  artifacts: ArtifactsRepo;
  /** The embedded OAuth server's clients, grants and tokens. */
  oauth: OAuthRecordsRepo;
  /** Single-use upload URLs for training images. */
  uploads: UploadSlotsRepo;
}

/** The store: a database (SQLite in LORALOOP_HOME) plus content-addressed blobs, with one repository per aggregate. */
export interface Store extends Repos {
  blobs: BlobStore;
  /**
   * Run `fn` in one write transaction: every write through `tx` is committed together, or none is when `fn`
   * throws. Use only `tx` inside `fn`: on SQLite the transaction holds the one connection, so a call on the
   * store itself would wait for the transaction to end, which waits for that call.
   */
  transaction<T>(fn: (tx: Repos) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

/**
 * The store of `home`. Synchronous to call and touches nothing yet: the database is opened and migrated on first
 * use, behind one memoised promise every repository method awaits (a failure to open is that call's
 * STORE_ERROR, and the next call tries again), and blob folders are made when the first blob is written.
 */
export function createStore(home: string, now: () => Date = () => new Date(), options: StoreOptions = {}): Store {
  const backend = options.databaseUrl ? createPostgresBackend(options.databaseUrl) : createSqliteBackend(home);
  const blobs = blobStoreFor(options.blobs ?? { kind: 'local' }, createBlobStore(home), options.objectStoreEnv ?? {});
  return storeOn(backend, blobs, now);
}

export interface StoreOptions {
  /** `postgres://…` (LORALOOP_DATABASE_URL): every table in that PostgreSQL database; unset = SQLite in `home`. */
  databaseUrl?: string | undefined;
  /** LORALOOP_BLOBS: an S3 bucket or Azure container shared by every host, with `home`'s folder as the cache. */
  blobs?: BlobLocation | undefined;
  /** The AWS_* / AZURE_STORAGE_* variables for the object-store clients. */
  objectStoreEnv?: Record<string, string> | undefined;
}

function storeOn(backend: StoreBackend, blobs: BlobStore, now: () => Date): Store {
  let opening: Promise<void> | undefined;
  let open = false;
  const ready = (): Promise<void> =>
    (opening ??= migrate(backend).then(
      () => {
        open = true;
      },
      (e: unknown) => {
        opening = undefined; // the next call tries again (e.g. once the folder is writable)
        throw e instanceof LoraloopError || !backend.openError ? e : backend.openError(e);
      },
    ));
  const bind = (db: Kysely<Database>, atomic: RepoContext['atomic']): Repos => repos({ db, sql: backend.sql, now, atomic });
  const root = afterReady(bind(backend.db, (fn) => backend.transaction(fn)), () => open, ready);
  return {
    ...root,
    blobs,
    async transaction(fn) {
      if (!open) await ready();
      return backend.transaction((trx) => {
        const tx = bind(trx, (inner) => inner(trx));
        bindTransaction(tx, trx);
        return fn(tx);
      });
    },
    close: () => backend.close(),
  };
}

function repos(ctx: RepoContext): Repos {
  return {
    covers: createCoversRepo(ctx),
    logos: createLogosRepo(ctx),
    jobs: createJobsRepo(ctx),
    leases: createLeasesRepo(ctx),
    kv: createKvRepo(ctx),
    loras: createLorasRepo(ctx),
    generation: createGenerationRepo(ctx),
    ratings: createRatingsRepo(ctx),
    critiques: createCritiquesRepo(ctx),
    improve: createImproveRepo(ctx),
    collected: createCollectedItemsRepo(ctx),
    artifacts: createArtifactsRepo(ctx),
    oauth: createOAuthRecordsRepo(ctx),
    uploads: createUploadSlotsRepo(ctx),
  };
}

/** The same repos, each method first awaiting `ready` (the database is open and migrated) until it is. */
function afterReady(all: Repos, isOpen: () => boolean, ready: () => Promise<void>): Repos {
  const gate = <R extends object>(repo: R): R => {
    const out: Record<string, unknown> = {};
    for (const [name, method] of Object.entries(repo)) {
      const fn = method as (...a: unknown[]) => Promise<unknown>;
      out[name] = (...args: unknown[]) => (isOpen() ? fn(...args) : ready().then(() => fn(...args)));
    }
    return out as R;
  };
  return Object.fromEntries(Object.entries(all).map(([k, r]) => [k, gate(r as object)])) as unknown as Repos;
}

export type { BlobRef, BlobStore } from './blobs.js';
export { blobRefOf, readStoredBlob, storedBlobPath, type StoredBlob } from './stored-blob.js';
export { isUniqueViolation } from './unique.js';

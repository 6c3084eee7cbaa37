import { foundation } from './001_foundation.js';
import { lora } from './002_lora.js';
import { generation } from './003_generation.js';
import { loop } from './004_loop.js';
import { improve } from './007_improve.js';
import { remote } from './008_remote.js';
import { artifactBlobs } from './009_artifact_blobs.js';
import { draftThumbs } from './010_draft_thumbs.js';
import { draftRefusals } from './011_draft_refusals.js';
import type { Migration } from '../types.js';

/** Every PostgreSQL migration: the SQLite ones in PostgreSQL types (BIGINT, DOUBLE PRECISION, TEXT COLLATE "C" so text sorts byte-wise as in SQLite, and a `seq` identity column where SQLite has rowid), in any order (they are sorted by id). Add one file per schema change. */
export const postgresMigrations: readonly Migration[] = [foundation, lora, generation, loop, improve, remote, artifactBlobs, draftThumbs, draftRefusals];

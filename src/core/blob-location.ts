import { z } from 'zod';
import { LoraloopError } from './errors.js';

/** Where blobs live: this host's folder (the default), an S3 bucket or an Azure container, each with an optional prefix. */
export type BlobLocation =
  | { kind: 'local' }
  | { kind: 's3'; bucket: string; prefix: string }
  | { kind: 'azure'; container: string; prefix: string };

const s3Bucket = z.string().regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'an S3 bucket name is 3-63 lower-case letters, digits, dots and hyphens');
const azureContainer = z.string().regex(/^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$/, 'an Azure container name is 3-63 lower-case letters, digits and single hyphens');

/** Parse LORALOOP_BLOBS: unset or `local`, `s3://bucket[/prefix]`, `azure://container[/prefix]`. */
export function parseBlobLocation(value: string | undefined): BlobLocation {
  const v = value?.trim();
  if (!v || v === 'local') return { kind: 'local' };
  const m = /^(s3|azure):\/\/([^/]+)(?:\/(.*))?$/.exec(v);
  const scheme = m?.[1];
  const name = m?.[2] ?? '';
  const rawPrefix = (m?.[3] ?? '').replace(/^\/+|\/+$/g, '');
  const prefix = rawPrefix ? `${rawPrefix}/` : '';
  const checked = scheme === 's3' ? s3Bucket.safeParse(name) : scheme === 'azure' ? azureContainer.safeParse(name) : undefined;
  if (!checked?.success) {
    const why = checked ? `: ${checked.error.issues[0]?.message}` : '';
    throw new LoraloopError('CONFIG_INVALID', `LORALOOP_BLOBS="${v}" is not a blob location${why}.`, {
      hint: 'Use s3://bucket[/prefix] or azure://container[/prefix], or leave it unset for the local folder.',
    });
  }
  return scheme === 's3' ? { kind: 's3', bucket: name, prefix } : { kind: 'azure', container: name, prefix };
}

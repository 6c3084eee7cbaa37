import type { BlobLocation } from '../../core/blob-location.js';
import type { BlobStore } from '../blobs.js';
import { createObjectBlobStore } from './store.js';
import type { ObjectBackend } from './types.js';

/**
 * The blob store for a location: the local folder itself, or an object store with the folder as its cache.
 * The AWS and Azure SDKs are loaded on the first blob call, so a process on the local folder never loads them
 * and a misconfigured location is that call's clear error.
 */
export function blobStoreFor(location: BlobLocation, local: BlobStore, env: Record<string, string | undefined> = process.env): BlobStore {
  if (location.kind === 'local') return local;
  let loading: Promise<ObjectBackend> | undefined;
  const backend = (): Promise<ObjectBackend> =>
    (loading ??= (async () => {
      if (location.kind === 's3') return (await import('./s3.js')).createS3Backend(location, env);
      const azure = await import('./azure.js');
      return azure.createAzureBackend(location, azure.azureContainerFromEnv(location.container, env));
    })().catch((e: unknown) => {
      loading = undefined;
      throw e;
    }));
  const where = location.kind === 's3' ? `s3://${location.bucket}/${location.prefix}` : `azure://${location.container}/${location.prefix}`;
  const lazy: ObjectBackend = {
    location: where,
    exists: async (key) => (await backend()).exists(key),
    put: async (key, bytes, type) => (await backend()).put(key, bytes, type),
    get: async (key) => (await backend()).get(key),
    delete: async (key) => (await backend()).delete(key),
  };
  return createObjectBlobStore(lazy, local);
}

import type { BlobStore } from '../blobs.js';
import { azureContainerFromEnv, createAzureBackend } from './azure.js';
import type { BlobLocation } from '../../core/blob-location.js';
import { createS3Backend } from './s3.js';
import { createObjectBlobStore } from './store.js';



/** The blob store for a location: the local folder itself, or an object store with the folder as its cache. */
export function blobStoreFor(location: BlobLocation, local: BlobStore, env: NodeJS.ProcessEnv = process.env): BlobStore {
  switch (location.kind) {
    case 'local':
      return local;
    case 's3':
      return createObjectBlobStore(createS3Backend(location, env), local);
    case 'azure':
      return createObjectBlobStore(createAzureBackend(location, azureContainerFromEnv(location.container, env)), local);
  }
}

import { BlobServiceClient, StorageSharedKeyCredential, type ContainerClient } from '@azure/storage-blob';
import { LoraloopError } from '../../core/errors.js';
import { blobError, statusOf } from './errors.js';
import type { ObjectBackend } from './types.js';

export interface AzureLocation {
  container: string;
  /** Blob name prefix ending in `/`, or ''. */
  prefix: string;
}

/**
 * The container client from the usual Azure Storage variables: a connection string
 * (AZURE_STORAGE_CONNECTION_STRING, also what Azurite gives), or an account with a key
 * (AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY) or a SAS token (AZURE_STORAGE_SAS_TOKEN).
 */
export function azureContainerFromEnv(container: string, env: Record<string, string | undefined> = process.env): ContainerClient {
  if (env.AZURE_STORAGE_CONNECTION_STRING) {
    return BlobServiceClient.fromConnectionString(env.AZURE_STORAGE_CONNECTION_STRING).getContainerClient(container);
  }
  const account = env.AZURE_STORAGE_ACCOUNT;
  if (account) {
    const url = `https://${account}.blob.core.windows.net`;
    if (env.AZURE_STORAGE_KEY) {
      return new BlobServiceClient(url, new StorageSharedKeyCredential(account, env.AZURE_STORAGE_KEY)).getContainerClient(container);
    }
    if (env.AZURE_STORAGE_SAS_TOKEN) {
      return new BlobServiceClient(`${url}?${env.AZURE_STORAGE_SAS_TOKEN.replace(/^\?/, '')}`).getContainerClient(container);
    }
  }
  throw new LoraloopError('NOT_CONFIGURED', `LORALOOP_BLOBS=azure://${container} needs Azure Storage credentials.`, {
    hint: 'Set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN.',
  });
}

/** Blobs in an Azure Blob Storage container, one block blob per object (the SDK retries throttling itself). */
export function createAzureBackend(loc: AzureLocation, container: ContainerClient): ObjectBackend {
  const location = `azure://${loc.container}/${loc.prefix}`;
  const blob = (key: string) => container.getBlockBlobClient(loc.prefix + key);
  return {
    location,
    async exists(key) {
      try {
        return await blob(key).exists();
      } catch (e) {
        throw blobError(`checking ${key}`, location, e);
      }
    },
    async put(key, bytes, contentType) {
      try {
        await blob(key).uploadData(bytes, { blobHTTPHeaders: { blobContentType: contentType } });
      } catch (e) {
        throw blobError(`writing ${key}`, location, e);
      }
    },
    async get(key) {
      try {
        return await blob(key).downloadToBuffer();
      } catch (e) {
        if (statusOf(e) === 404 && (e as { details?: { errorCode?: string } }).details?.errorCode === 'BlobNotFound') return undefined;
        throw blobError(`reading ${key}`, location, e);
      }
    },
    async delete(key) {
      try {
        return (await blob(key).deleteIfExists()).succeeded;
      } catch (e) {
        throw blobError(`deleting ${key}`, location, e);
      }
    },
  };
}

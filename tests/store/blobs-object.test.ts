import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { BlobServiceClient } from '@azure/storage-blob';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBlobStore } from '../../src/store/blobs.js';
import { parseBlobLocation } from '../../src/core/blob-location.js';
import { blobStoreFor } from '../../src/store/objects/index.js';
import { objectKey } from '../../src/store/objects/store.js';
import { startAzurite, startS3, type RunningAzurite, type RunningS3 } from '../support/object-stores.js';

const homes: string[] = [];
/** A fresh LORALOOP_HOME, as if on another host: its own blob folder, nothing cached. */
function host() {
  const h = mkdtempSync(join(tmpdir(), 'loraloop-host-'));
  homes.push(h);
  return createBlobStore(h);
}
afterAll(() => homes.forEach((h) => rmSync(h, { recursive: true, force: true })));

const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('LORALOOP_BLOBS', () => {
  it('takes local, s3:// and azure:// locations with a prefix, and refuses anything else with what to write', () => {
    expect(parseBlobLocation(undefined)).toEqual({ kind: 'local' });
    expect(parseBlobLocation('s3://covers-prod/desk/a/')).toEqual({ kind: 's3', bucket: 'covers-prod', prefix: 'desk/a/' });
    expect(parseBlobLocation('azure://loraloop')).toEqual({ kind: 'azure', container: 'loraloop', prefix: '' });
    for (const bad of ['gs://bucket', 's3://', 's3://UPPER', 'azure://a--b', '/var/blobs']) {
      expect(() => parseBlobLocation(bad)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', hint: expect.stringContaining('s3://bucket') }));
    }
  });
});

describe('blobs in S3 (s3rver)', () => {
  let s3: RunningS3;
  beforeAll(async () => {
    s3 = await startS3(['loraloop-blobs']);
  }, 30_000);
  afterAll(() => s3?.stop());
  const store = (loc = 's3://loraloop-blobs/team') => blobStoreFor(parseBlobLocation(loc), host(), s3.env);
  const raw = () => new S3Client({ endpoint: s3.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });

  it('a blob put on one host is read, and given as a local file, on a host that never saw it', async () => {
    const ref = await store().put(png, 'png');
    expect(ref.sha256).toBe(sha(png));
    const other = store();
    expect(await other.has(ref.sha256, 'png')).toBe(true);
    expect(await other.read(ref)).toEqual(png);
    const file = await other.localPath(ref);
    expect(readFileSync(file)).toEqual(png);
    // Under the prefix, with the same key layout as the local folder.
    const head = await raw().send(new PutObjectCommand({ Bucket: 'loraloop-blobs', Key: `team/${objectKey(ref.sha256, 'png')}`, Body: png }));
    expect(head.$metadata.httpStatusCode).toBe(200);
  });

  it('a blob removed on one host is gone from the bucket for every host that never cached it', async () => {
    const bytes = Buffer.from('weights that are deleted');
    const ref = await store().put(bytes, 'safetensors');
    const other = store();
    expect(await other.remove(ref)).toBe(true);
    const fresh = store();
    expect(await fresh.has(ref.sha256, 'safetensors')).toBe(false);
    await expect(fresh.read(ref)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await fresh.remove(ref)).toBe(false);
  });

  it('an object altered in the bucket is refused on a fresh host and not cached', async () => {
    const bytes = Buffer.from('a LoRA file, honestly');
    const ref = await store().put(bytes, 'safetensors');
    await raw().send(new PutObjectCommand({ Bucket: 'loraloop-blobs', Key: `team/${objectKey(ref.sha256, 'safetensors')}`, Body: Buffer.from('truncated') }));
    const other = store();
    await expect(other.read(ref)).rejects.toMatchObject({ code: 'STORE_ERROR', message: expect.stringContaining('does not match its name') });
    await expect(other.localPath(ref)).rejects.toMatchObject({ code: 'STORE_ERROR' });
  });

  it('a blob that no host wrote is NOT_FOUND with what to check', async () => {
    const missing = { sha256: sha(Buffer.from('never stored')), ext: 'png' };
    expect(await store().has(missing.sha256, 'png')).toBe(false);
    await expect(store().read(missing)).rejects.toMatchObject({ code: 'NOT_FOUND', hint: expect.stringContaining('LORALOOP_BLOBS') });
  });

  it('a bucket that does not exist is a configuration error, not a crash', async () => {
    await expect(store('s3://no-such-bucket').put(png, 'png')).rejects.toMatchObject({
      code: 'NOT_CONFIGURED',
      message: expect.stringContaining('s3://no-such-bucket/'),
    });
  });

  it('an unreachable endpoint says so after the SDK retries', async () => {
    const dead = blobStoreFor(parseBlobLocation('s3://loraloop-blobs'), host(), { ...s3.env, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' });
    await expect(dead.put(png, 'png')).rejects.toMatchObject({ code: 'UPSTREAM_UNREACHABLE' });
  }, 30_000);
});

describe('blobs in Azure Blob Storage (Azurite)', () => {
  let az: RunningAzurite;
  beforeAll(async () => {
    az = await startAzurite();
    await BlobServiceClient.fromConnectionString(az.env.AZURE_STORAGE_CONNECTION_STRING!).getContainerClient('loraloop').create();
  }, 30_000);
  afterAll(() => az?.stop());
  const store = (loc = 'azure://loraloop/covers') => blobStoreFor(parseBlobLocation(loc), host(), az.env);

  it('a blob put on one host is read, and given as a local file, on a host that never saw it', async () => {
    const ref = await store().put(png, 'png');
    const other = store();
    expect(await other.has(ref.sha256, 'png')).toBe(true);
    expect(readFileSync(await other.localPath(ref))).toEqual(png);
    const props = await BlobServiceClient.fromConnectionString(az.env.AZURE_STORAGE_CONNECTION_STRING!)
      .getContainerClient('loraloop')
      .getBlockBlobClient(`covers/${objectKey(ref.sha256, 'png')}`)
      .getProperties();
    expect(props.contentType).toBe('image/png');
  });

  it('a blob removed on one host is gone from the container for every host that never cached it', async () => {
    const bytes = Buffer.from('azure weights that are deleted');
    const ref = await store().put(bytes, 'safetensors');
    expect(await store().remove(ref)).toBe(true);
    const fresh = store();
    expect(await fresh.has(ref.sha256, 'safetensors')).toBe(false);
    expect(await fresh.remove(ref)).toBe(false);
  });

  it('a missing blob is NOT_FOUND; a missing container is a configuration error', async () => {
    await expect(store().read({ sha256: sha(Buffer.from('x')), ext: 'png' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(store('azure://nocontainer').put(png, 'png')).rejects.toMatchObject({ code: 'NOT_CONFIGURED' });
  });

  it('without credentials the first blob call says which variables to set', async () => {
    const s = blobStoreFor(parseBlobLocation('azure://loraloop'), host(), {});
    await expect(s.put(png, 'png')).rejects.toMatchObject({ code: 'NOT_CONFIGURED', hint: expect.stringContaining('AZURE_STORAGE_CONNECTION_STRING') });
  });
});

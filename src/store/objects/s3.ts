import { DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { blobError, statusOf } from './errors.js';
import type { ObjectBackend } from './types.js';

export interface S3Location {
  bucket: string;
  /** Key prefix ending in `/`, or ''. */
  prefix: string;
}

/**
 * Objects in an S3 bucket (or an S3-compatible store). Credentials, region and endpoint come from the
 * standard AWS variables through the SDK's own chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, AWS_REGION,
 * AWS_ENDPOINT_URL, ...). A custom endpoint (MinIO, R2, a test server) gets path-style addressing, which
 * those stores expect and AWS itself still accepts.
 */
export function createS3Backend(loc: S3Location, env: Record<string, string | undefined> = process.env, client?: S3Client): ObjectBackend {
  const endpoint = env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const config: S3ClientConfig = {
    region: env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1',
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    // Keys given in `env` (the config's view of the environment) win; otherwise the SDK's default chain
    // (profiles, SSO, instance and container roles) finds them.
    ...(env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          credentials: {
            accessKeyId: env.AWS_ACCESS_KEY_ID,
            secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {}),
    // Standard mode retries throttling (429/503 SlowDown) and transient network errors with backoff.
    retryMode: 'standard',
    maxAttempts: 4,
  };
  const s3 = client ?? new S3Client(config);
  const location = `s3://${loc.bucket}/${loc.prefix}`;
  const Key = (key: string) => loc.prefix + key;
  const exists = async (key: string): Promise<boolean> => {
    try {
      await s3.send(new HeadObjectCommand({ Bucket: loc.bucket, Key: Key(key) }));
      return true;
    } catch (e) {
      if (statusOf(e) === 404 && (e as { name?: string }).name !== 'NoSuchBucket') return false;
      throw blobError(`checking ${key}`, location, e);
    }
  };
  return {
    location,
    exists,
    async put(key, bytes, contentType) {
      try {
        await s3.send(new PutObjectCommand({ Bucket: loc.bucket, Key: Key(key), Body: bytes, ContentType: contentType }));
      } catch (e) {
        throw blobError(`writing ${key}`, location, e);
      }
    },
    async get(key) {
      try {
        const out = await s3.send(new GetObjectCommand({ Bucket: loc.bucket, Key: Key(key) }));
        if (!out.Body) return undefined;
        return Buffer.from(await out.Body.transformToByteArray());
      } catch (e) {
        if ((e as { name?: string }).name === 'NoSuchKey') return undefined;
        throw blobError(`reading ${key}`, location, e);
      }
    },
    async delete(key) {
      // S3 answers 204 whether or not the key existed: ask first, so the caller can tell.
      if (!(await exists(key))) return false;
      try {
        await s3.send(new DeleteObjectCommand({ Bucket: loc.bucket, Key: Key(key) }));
        return true;
      } catch (e) {
        throw blobError(`deleting ${key}`, location, e);
      }
    },
  };
}

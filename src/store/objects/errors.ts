import { LoraloopError } from '../../core/errors.js';

/** HTTP status of an S3 or Azure SDK error, when it carries one. */
export function statusOf(e: unknown): number | undefined {
  if (typeof e !== 'object' || e === null) return undefined;
  const o = e as { statusCode?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const s = o.$metadata?.httpStatusCode ?? o.statusCode;
  return typeof s === 'number' ? s : undefined;
}

/**
 * One clear error for every object-store failure that is left after the SDK's own retries: what was being
 * done, where, what the service said, and what to check.
 */
export function blobError(action: string, location: string, e: unknown): LoraloopError {
  const status = statusOf(e);
  const said = e instanceof Error ? e.message : String(e);
  const name = typeof e === 'object' && e !== null ? (e as { name?: unknown }).name : undefined;
  const [code, hint] =
    name === 'CredentialsProviderError'
      ? (['NOT_CONFIGURED', 'No credentials were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or run with an instance role).'] as const)
      : status === 429 || status === 503
      ? (['UPSTREAM_RATE_LIMITED', 'The object store is throttling requests; the SDK already retried. Try again later.'] as const)
      : status === 401 || status === 403
        ? (['UPSTREAM_ERROR', 'Check the credentials (AWS_* or AZURE_STORAGE_* variables) and that they may read and write this location.'] as const)
        : status === 404
          ? (['NOT_CONFIGURED', 'The bucket or container does not exist: create it, or fix LORALOOP_BLOBS.'] as const)
          : status === undefined
            ? (['UPSTREAM_UNREACHABLE', 'Check that the object store is reachable (AWS_ENDPOINT_URL or the Azure endpoint).'] as const)
            : (['UPSTREAM_ERROR', 'The object store refused the request; see the message.'] as const);
  return new LoraloopError(code, `Blob store ${location}: ${action} failed${status ? ` (HTTP ${status})` : ''}: ${said}`, {
    hint,
    cause: e,
    ...(status ? { details: { status } } : {}),
  });
}

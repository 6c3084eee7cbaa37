import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Short-lived signed download and upload URLs: an HMAC over the path and the expiry, so a remote client can
 * fetch a cover or PUT a training image without a bearer token, and a link cannot be bent to another file or
 * made to live longer. The key is per installation (kept in the store), so links survive a restart.
 */
export interface LinkSigner {
  /** `${base}${path}?exp=…&sig=…`, valid for `ttlSeconds` (default: the signer's lifetime). */
  sign(path: string, ttlSeconds?: number): string;
  /** Check a request's path and query. `expired` and `bad` are kept apart so the server can say which. */
  verify(path: string, query: URLSearchParams): 'ok' | 'expired' | 'bad';
  /** Default lifetime of a link, in seconds. */
  ttlSeconds: number;
  /** The base every link starts with (its origin is where a client's browser fetches files from). */
  baseUrl: string;
}

export interface LinkSignerOptions {
  /** The externally visible base URL, without a trailing slash (LORALOOP_PUBLIC_URL or the bound address). */
  baseUrl: string;
  key: Buffer;
  ttlSeconds: number;
  now: () => Date;
}

export function createLinkSigner(o: LinkSignerOptions): LinkSigner {
  const base = o.baseUrl.replace(/\/+$/, '');
  const mac = (path: string, exp: number) => createHmac('sha256', o.key).update(`${exp}\n${path}`).digest('base64url');
  return {
    ttlSeconds: o.ttlSeconds,
    baseUrl: base,
    sign(path, ttlSeconds = o.ttlSeconds) {
      const exp = Math.floor(o.now().getTime() / 1000) + Math.max(1, Math.round(ttlSeconds));
      return `${base}${path}?exp=${exp}&sig=${mac(path, exp)}`;
    },
    verify(path, query) {
      const exp = Number(query.get('exp'));
      const sig = query.get('sig') ?? '';
      if (!Number.isInteger(exp) || !sig) return 'bad';
      const want = Buffer.from(mac(path, exp));
      const got = Buffer.from(sig);
      // Checked before the expiry, so a tampered link is never told apart from an expired one by timing.
      if (want.length !== got.length || !timingSafeEqual(want, got)) return 'bad';
      return exp * 1000 < o.now().getTime() ? 'expired' : 'ok';
    },
  };
}

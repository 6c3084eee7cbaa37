import { createHash, timingSafeEqual } from 'node:crypto';
import type { EmbeddedAuth } from './embedded.js';
import type { ExternalIssuer } from './external.js';

/** Who a request is, once its bearer token checked out. */
export interface Principal {
  token: string;
  clientId: string;
  scopes: string[];
  /** Seconds since the epoch; absent for the static token. */
  expiresAt?: number;
  resource?: URL;
  via: 'static-token' | 'oauth' | 'external-oauth';
}

function sameSecret(given: string, expected: string): boolean {
  // Hash both so the comparison is constant-time regardless of length.
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

export interface AuthGate {
  /** The principal behind an Authorization header, or undefined (the caller answers 401 and runs nothing). */
  check(authorization: string | undefined): Promise<Principal | undefined>;
  /** True when the operator's LORALOOP_HTTP_TOKEN was given (the consent page's password). */
  isOperatorSecret(given: string): boolean;
}

/**
 * Every way in to /mcp: the static LORALOOP_HTTP_TOKEN (Claude Code, the Inspector, scripts), tokens of the
 * embedded authorization server (introspected: expiry, revocation and audience are checked by the store), or
 * JWTs of an external issuer (signature, issuer, audience, expiry).
 */
export function createAuthGate(o: { staticToken: string | undefined; embedded?: EmbeddedAuth; external?: ExternalIssuer; resource: string }): AuthGate {
  return {
    isOperatorSecret: (given) => !!o.staticToken && given.length > 0 && sameSecret(given, o.staticToken),
    async check(authorization) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '');
      if (!m) return undefined;
      const token = m[1]!;
      if (o.staticToken && sameSecret(token, o.staticToken)) return { token, clientId: 'static-token', scopes: ['mcp'], via: 'static-token' };
      const resource = new URL(o.resource);
      if (o.embedded) {
        const t = await o.embedded.introspect(token);
        if (t) return { token, clientId: t.clientId, scopes: t.scopes, expiresAt: t.expiresAt, resource, via: 'oauth' };
      }
      if (o.external) {
        const t = await o.external.verify(token);
        if (t) return { token, clientId: t.clientId, scopes: t.scopes, expiresAt: t.expiresAt, resource, via: 'external-oauth' };
      }
      return undefined;
    },
  };
}

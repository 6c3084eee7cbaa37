import { createRemoteJWKSet, customFetch, jwtVerify } from 'jose';
import { z } from 'zod';
import { LoraloopError } from '../../core/errors.js';

/** The part of an issuer's RFC 8414 / OpenID discovery document we use. */
const issuerMetadataSchema = z.looseObject({ issuer: z.string(), jwks_uri: z.string().url() });

export interface ExternalIssuer {
  issuer: string;
  /** Verify a JWT access token: signature (issuer's JWKS), issuer, audience, expiry. */
  verify(token: string): Promise<{ clientId: string; scopes: string[]; expiresAt: number } | undefined>;
}

/**
 * An external identity provider (LORALOOP_OAUTH_ISSUER): its metadata is discovered once, its JWKS verifies
 * tokens (jose caches and refreshes the keys). Tokens must name this server's resource as their audience.
 */
export async function createExternalIssuer(issuer: string, audience: string, fetchImpl: typeof fetch): Promise<ExternalIssuer> {
  const base = issuer.replace(/\/+$/, '');
  let meta: z.infer<typeof issuerMetadataSchema> | undefined;
  for (const path of ['/.well-known/oauth-authorization-server', '/.well-known/openid-configuration']) {
    try {
      const r = await fetchImpl(`${base}${path}`, { headers: { accept: 'application/json' } });
      if (!r.ok) continue;
      const parsed = issuerMetadataSchema.safeParse(await r.json());
      if (parsed.success) {
        meta = parsed.data;
        break;
      }
    } catch {
      // Try the other well-known path; the error below names the issuer if both fail.
    }
  }
  if (!meta) {
    throw new LoraloopError('CONFIG_INVALID', `LORALOOP_OAUTH_ISSUER: no OAuth metadata with a jwks_uri at ${base}.`, {
      hint: 'Set it to the issuer URL of your identity provider (the one its tokens carry in "iss").',
    });
  }
  const jwks = createRemoteJWKSet(new URL(meta.jwks_uri), { [customFetch]: (url, init) => fetchImpl(url, init as RequestInit) });
  const iss = meta.issuer;
  return {
    issuer: iss,
    async verify(token) {
      try {
        const { payload } = await jwtVerify(token, jwks, { issuer: iss, audience });
        const scope = typeof payload.scope === 'string' ? payload.scope : Array.isArray(payload.scp) ? payload.scp.join(' ') : '';
        const clientId = typeof payload.client_id === 'string' ? payload.client_id : typeof payload.azp === 'string' ? payload.azp : (payload.sub ?? '');
        return { clientId, scopes: scope.split(' ').filter(Boolean), expiresAt: payload.exp ?? 0 };
      } catch {
        return undefined;
      }
    },
  };
}

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../core/logger.js';
import type { KvRepo } from '../../store/repos/kv.js';
import type { OAuthRecordsRepo } from '../../store/repos/oauth.js';

/** Scope a connector asks for to use the MCP endpoint. */
export const MCP_SCOPE = 'mcp';
/** Access tokens are short-lived; connectors refresh them (refresh tokens rotate on every use). */
export const ACCESS_TOKEN_TTL_S = 15 * 60;
const REFRESH_TOKEN_TTL_S = 30 * 86400;
/** Where the provider's own endpoints live, under the issuer. */
export const OAUTH_PREFIX = '/oauth';
export const CONSENT_PREFIX = '/consent/';

export interface EmbeddedAuthDeps {
  records: OAuthRecordsRepo;
  kv: KvRepo;
  logger: Logger;
  /** Used to fetch Client ID Metadata Documents (tests route it to a local server). */
  fetch: typeof fetch;
}

export interface EmbeddedAuthOptions {
  /** The issuer: the externally visible base URL (LORALOOP_PUBLIC_URL or the bound address). */
  issuer: string;
  /** The protected resource tokens are bound to: `${issuer}/mcp`. */
  resource: string;
}

export interface InteractionView {
  uid: string;
  clientId: string;
  clientName: string | null;
  redirectUri: string;
  scopes: string[];
  resource: string;
}

/** The embedded authorization server (oidc-provider), its consent step, and token introspection for /mcp. */
export interface EmbeddedAuth {
  /**
   * Answers a request for the provider's endpoints (/oauth/*, /.well-known/openid-configuration). RFC 8414
   * metadata (/.well-known/oauth-authorization-server) is the same document: route it here as openid-configuration.
   */
  handle(req: IncomingMessage, res: ServerResponse): Promise<void>;
  interaction(req: IncomingMessage, res: ServerResponse): Promise<InteractionView>;
  /** Approve the interaction the request belongs to: records the grant and redirects the browser back. */
  approve(req: IncomingMessage, res: ServerResponse): Promise<void>;
  /** A live access token for this resource -> who it was issued to; undefined for anything else. */
  introspect(token: string): Promise<{ clientId: string; scopes: string[]; expiresAt: number } | undefined>;
}

interface Keys {
  cookie: string;
  jwk: Record<string, unknown>;
}

/** Keys persist in the store, so a restart neither logs out browsers mid-consent nor changes the signing key. */
async function loadKeys(kv: KvRepo): Promise<Keys> {
  const have = await kv.get<Keys>('oauth.keys');
  if (have) return have;
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const keys: Keys = { cookie: randomBytes(32).toString('base64url'), jwk: { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'ES256', kid: randomBytes(8).toString('hex') } };
  await kv.set('oauth.keys', keys);
  return keys;
}

export async function createEmbeddedAuth(deps: EmbeddedAuthDeps, o: EmbeddedAuthOptions): Promise<EmbeddedAuth> {
  // Loaded on first use: only an HTTP face with OAuth pays for it.
  const { default: Provider, errors } = await import('oidc-provider');
  const records = deps.records;
  class StoreAdapter {
    constructor(private readonly model: string) {}
    async upsert(id: string, payload: Record<string, unknown>, expiresIn?: number) {
      await records.upsert(this.model, id, payload, expiresIn);
    }
    async find(id: string) {
      return records.find(this.model, id);
    }
    async findByUid(uid: string) {
      return records.findByUid(this.model, uid);
    }
    async findByUserCode(code: string) {
      return records.findByUserCode(this.model, code);
    }
    async consume(id: string) {
      await records.consume(this.model, id);
    }
    async destroy(id: string) {
      await records.destroy(this.model, id);
    }
    async revokeByGrantId(grantId: string) {
      await records.revokeByGrantId(grantId);
    }
  }
  const keys = await loadKeys(deps.kv);
  const provider = new Provider(o.issuer, {
    adapter: StoreAdapter as never,
    jwks: { keys: [keys.jwk as never] },
    cookies: { keys: [keys.cookie] },
    scopes: [MCP_SCOPE, 'offline_access'],
    claims: { openid: ['sub'] },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
    routes: {
      authorization: `${OAUTH_PREFIX}/authorize`,
      token: `${OAUTH_PREFIX}/token`,
      registration: `${OAUTH_PREFIX}/register`,
      revocation: `${OAUTH_PREFIX}/revoke`,
      jwks: `${OAUTH_PREFIX}/jwks`,
      end_session: `${OAUTH_PREFIX}/session/end`,
      userinfo: `${OAUTH_PREFIX}/me`,
      introspection: `${OAUTH_PREFIX}/introspect`,
    },
    interactions: { url: (_ctx, interaction) => `${CONSENT_PREFIX}${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      // Open dynamic registration (RFC 7591), as MCP clients expect; every client still needs the operator's approval.
      registration: { enabled: true },
      revocation: { enabled: true },
      clientIdMetadataDocument: { enabled: true, ack: 'draft-02' },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => o.resource,
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          if (indicator !== o.resource) throw new errors.InvalidTarget(`this server only issues tokens for ${o.resource}`);
          return { scope: MCP_SCOPE, audience: o.resource, accessTokenTTL: ACCESS_TOKEN_TTL_S, accessTokenFormat: 'opaque' };
        },
      },
    },
    pkce: { required: () => true },
    clientDefaults: { grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'], token_endpoint_auth_method: 'none', id_token_signed_response_alg: 'ES256' },
    rotateRefreshToken: true,
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL_S,
      AuthorizationCode: 60,
      RefreshToken: REFRESH_TOKEN_TTL_S,
      Grant: REFRESH_TOKEN_TTL_S,
      Interaction: 10 * 60,
      Session: 86400,
    },
    fetch: (url, init) => deps.fetch(url, init as RequestInit),
    renderError: async (ctx, out) => {
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = `Authorization failed: ${String(out.error)}${out.error_description ? ` (${String(out.error_description)})` : ''}. Start the connection again from your MCP client.`;
    },
  });
  // Behind a TLS proxy the public URL is https while this socket is plain http: trust X-Forwarded-*.
  if (o.issuer.startsWith('https://')) provider.proxy = true;
  provider.on('interaction.started', (_ctx, prompt) => deps.logger.debug('oauth interaction started', { prompt: prompt.name, reasons: prompt.reasons, details: prompt.details }));
  provider.on('server_error', (_ctx, err) => deps.logger.error('oauth server error', { error: (err as Error).message }));
  const callback = provider.callback();
  return {
    handle: async (req, res) => {
      await callback(req, res);
    },
    async interaction(req, res) {
      const d = await provider.interactionDetails(req, res);
      const clientId = String(d.params.client_id ?? '');
      const client = await provider.Client.find(clientId);
      return {
        uid: d.uid,
        clientId,
        clientName: (client?.clientName as string | undefined) ?? null,
        redirectUri: String(d.params.redirect_uri ?? ''),
        scopes: String(d.params.scope ?? MCP_SCOPE).split(' ').filter(Boolean),
        resource: typeof d.params.resource === 'string' ? d.params.resource : o.resource,
      };
    },
    async approve(req, res) {
      const d = await provider.interactionDetails(req, res);
      const clientId = String(d.params.client_id ?? '');
      const grant = d.grantId ? await provider.Grant.find(d.grantId) : undefined;
      const g = grant ?? new provider.Grant({ accountId: 'operator', clientId });
      // Login and consent are given at once (the operator's token is both), so grant what was asked: the
      // requested scopes, and `mcp` on this resource (the only one tokens are issued for, RFC 8707).
      const asked = String(d.params.scope ?? MCP_SCOPE).split(' ').filter((x) => x === MCP_SCOPE || x === 'offline_access' || x === 'openid');
      g.addOIDCScope([...new Set([...asked, MCP_SCOPE])].join(' '));
      g.addResourceScope(o.resource, MCP_SCOPE);
      const grantId = await g.save();
      await provider.interactionFinished(req, res, { login: { accountId: 'operator' }, consent: { grantId } }, { mergeWithLastSubmission: false });
    },
    async introspect(token) {
      const at = await provider.AccessToken.find(token);
      if (!at || at.isExpired) return undefined;
      const aud = (at as unknown as { aud?: string | string[] }).aud;
      const auds = Array.isArray(aud) ? aud : aud ? [aud] : [];
      if (!auds.includes(o.resource)) return undefined;
      return { clientId: at.clientId ?? '', scopes: [...(at.scopes ?? [])], expiresAt: at.exp ?? 0 };
    },
  };
}

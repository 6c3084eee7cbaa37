import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { LoraloopError } from './errors.js';
import { parseBlobLocation, type BlobLocation } from './blob-location.js';

/**
 * Configuration read from the environment through zod. Only src/main.ts passes `process.env` in;
 * everything else receives a parsed Config. An empty string counts as "not set".
 */
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const optionalUrl = (withV1: boolean) =>
  optionalString.pipe(
    z
      .string()
      .url()
      .refine((u) => /^https?:\/\//.test(u), 'must start with http:// or https://')
      .refine((u) => !withV1 || /\/v1\/?$/.test(u), 'must include the /v1 path, e.g. https://api.replicate.com/v1')
      .optional(),
  );

const flag = optionalString.pipe(
  z
    .enum(['0', '1', 'true', 'false', 'yes', 'no'])
    .optional()
    .transform((v) => v === '1' || v === 'true' || v === 'yes'),
);

const envSchema = z.object({
  LORALOOP_HOME: optionalString,
  LORALOOP_ALLOWED_ROOTS: optionalString,
  LORALOOP_ALLOW_PRIVATE_URLS: flag,
  LORALOOP_HTTP_TOKEN: optionalString,
  LORALOOP_LOG_LEVEL: optionalString.pipe(z.enum(['debug', 'info', 'warn', 'error', 'silent']).optional()),
  REPLICATE_API_TOKEN: optionalString,
  REPLICATE_BASE_URL: optionalUrl(true),
  REPLICATE_WEBHOOK_SECRET: optionalString,
  LORALOOP_REPLICATE_TRAINER: optionalString.pipe(
    z
      .string()
      .regex(/^[^/\s]+\/[^/:\s]+:[0-9a-zA-Z]+$/, 'must look like owner/model:version')
      .optional(),
  ),
  LORALOOP_REPLICATE_DESTINATION: optionalString.pipe(
    z.string().regex(/^[^/\s]+\/[^/:\s]+$/, 'must look like owner/model').optional(),
  ),
  LORALOOP_REPLICATE_MODEL: optionalString,
  LORALOOP_REPLICATE_WEBHOOK_URL: optionalUrl(false),
  LORALOOP_BLOBS: optionalString,
  LORALOOP_DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\/\S+$/, 'must be a postgres:// URL (unset = SQLite in LORALOOP_HOME)')
      .optional(),
  ),
  LORALOOP_QUEUE: optionalString.pipe(z.enum(['pg-boss', 'off']).optional()),
  LORALOOP_KOHYA_CMD: optionalString,
  LORALOOP_KOHYA_BASE_MODEL: optionalString,
  LORALOOP_TRAINING_POLL_MS: optionalString.pipe(z.coerce.number<string | undefined>().int().min(100).max(600_000).optional()),
  LORALOOP_TRAINING_LEASE_MS: optionalString.pipe(z.coerce.number<string | undefined>().int().min(1000).max(3_600_000).optional()),
  COMFYUI_URLS: optionalString,
  LORALOOP_CHECKPOINT_TIERS: optionalString,
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalUrl(false),
  LORALOOP_LLM_MODEL: optionalString,
  LORALOOP_VISION_MODEL: optionalString,
  LORALOOP_FEEDS: optionalString,
  LORALOOP_IMPROVE_CRON: optionalString,
  LORALOOP_IMPROVE_TZ: optionalString.refine((tz) => tz === undefined || validTimeZone(tz), {
    message: 'is not an IANA time zone (e.g. Europe/Paris, America/New_York, UTC)',
  }),
  SLACK_BOT_TOKEN: optionalString,
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_API_URL: optionalUrl(false),
  LORALOOP_PUBLIC_URL: optionalUrl(false),
  LORALOOP_OAUTH_ISSUER: optionalUrl(false),
  LORALOOP_OAUTH_AUDIENCE: optionalString,
  LORALOOP_CALL_BUDGET_S: optionalString.pipe(z.coerce.number<string | undefined>().min(1).max(3600).optional()),
  LORALOOP_LINK_TTL_S: optionalString.pipe(z.coerce.number<string | undefined>().int().min(10).max(7 * 86400).optional()),
});

/** ostris/flux-dev-lora-trainer pinned version (TRAINERS.md §3a); override with LORALOOP_REPLICATE_TRAINER. */
export const DEFAULT_REPLICATE_TRAINER =
  'ostris/flux-dev-lora-trainer:26dce37af90b9d997eeb970d92e47de3064d46c300504ae376c75bef6a9022d2';

export interface Config {
  home: string;
  allowedRoots: string[];
  allowPrivateUrls: boolean;
  httpToken: string | undefined;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  replicate: {
    apiToken: string | undefined;
    baseUrl: string;
    webhookSecret: string | undefined;
    trainer: string;
    destination: string | undefined;
    /** Model used for predictions when a LoRA has no trained version of its own (FLUX LoRA runner). */
    model: string | undefined;
    /** Public URL of this server's /webhooks/replicate route; without it, trainings are followed by polling. */
    webhookUrl: string | undefined;
  };
  kohya: { cmd: string | undefined; baseModel: string | undefined };
  /**
   * Training followers: how often a remote training is polled (LORALOOP_TRAINING_POLL_MS, default 10 s), and how
   * long a follower's claim on a job outlives its last renewal (LORALOOP_TRAINING_LEASE_MS, default 60 s): a
   * killed process's trainings are followed again by another process that much later at most.
   */
  training: { pollMs: number | undefined; leaseMs: number | undefined };
  /** PostgreSQL shared by every host (LORALOOP_DATABASE_URL); undefined = the SQLite file in `home`. */
  databaseUrl: string | undefined;
  /**
   * LORALOOP_QUEUE=pg-boss: GPU work (drafts, covers, analyses, trainings, the nightly run) goes on the durable
   * queue in the cluster's PostgreSQL and `loraloop worker` processes run it; faces enqueue and report. Unset
   * (or `off`): every process runs its own work, as on one machine.
   */
  queue: 'pg-boss' | 'off';
  /** Where blobs live (LORALOOP_BLOBS): this host's folder, or an S3 bucket / Azure container shared by every host. */
  blobs: BlobLocation;
  /** The AWS_* and AZURE_STORAGE_* variables the object-store clients read (credentials, region, endpoint). */
  objectStoreEnv: Record<string, string>;
  comfyuiUrls: string[];
  /** Checkpoint pools per tier, `tier=name,name;tier2=...` (parsed by src/cover/checkpoints.ts); undefined = defaults. */
  checkpointTiers: string | undefined;
  openai: { apiKey: string | undefined; baseUrl: string | undefined; llmModel: string; visionModel: string };
  feeds: string[];
  improveCron: string;
  /** IANA time zone of improveCron; unset: the host's (a cluster should set it, or each host registers its own). */
  improveTimezone: string | undefined;
  slack: {
    botToken: string | undefined;
    signingSecret: string | undefined;
    appToken: string | undefined;
    apiUrl: string | undefined;
  };
  remote: {
    /** Externally visible base URL of the HTTP face (behind a TLS proxy), without a trailing slash. */
    publicUrl: string | undefined;
    /** External OAuth/OpenID issuer whose tokens /mcp accepts; unset = the embedded authorization server. */
    oauthIssuer: string | undefined;
    /** Audience the external issuer puts in tokens for this server (default: the /mcp resource URL). */
    oauthAudience: string | undefined;
    /** Longest a tool call holds an MCP client before it hands over a running job, in seconds. */
    callBudgetSeconds: number;
    /** Lifetime of signed download and upload links, in seconds. */
    linkTtlSeconds: number;
  };
}

/** Parse the environment. A malformed variable is named in the thrown CONFIG_INVALID error. */
export function loadConfig(env: Record<string, string | undefined>, cwd: string): Config {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new LoraloopError('CONFIG_INVALID', `Invalid environment: ${problems.join('; ')}.`, {
      hint: 'Fix or unset the variable(s) named above (see the README table of environment variables).',
    });
  }
  const e = parsed.data;
  const home = e.LORALOOP_HOME ? resolve(cwd, e.LORALOOP_HOME) : join(homedir(), '.loraloop');
  const allowedRoots = (e.LORALOOP_ALLOWED_ROOTS ?? cwd)
    .split(':')
    .map((r) => r.trim())
    .filter((r) => r !== '')
    .map((r) => (isAbsolute(r) ? r : resolve(cwd, r)));
  const comfyuiUrls = (e.COMFYUI_URLS ?? '')
    .split(',')
    .map((u) => u.trim().replace(/\/+$/, ''))
    .filter((u) => u !== '');
  for (const u of comfyuiUrls) {
    if (!/^https?:\/\/[^/\s]+/.test(u)) {
      throw new LoraloopError('CONFIG_INVALID', `COMFYUI_URLS: "${u}" is not an http(s) URL.`, {
        hint: 'Use comma-separated base URLs such as http://gpu1:8188,http://gpu2:8188.',
      });
    }
  }
  const queue = e.LORALOOP_QUEUE ?? 'off';
  if (queue === 'pg-boss' && !e.LORALOOP_DATABASE_URL) {
    throw new LoraloopError('CONFIG_INVALID', 'LORALOOP_QUEUE=pg-boss needs LORALOOP_DATABASE_URL: the queue lives in the cluster\'s PostgreSQL.', {
      hint: 'Set LORALOOP_DATABASE_URL=postgres://user:password@host/db on every host, or unset LORALOOP_QUEUE to run work in each process.',
    });
  }
  return {
    home,
    allowedRoots,
    allowPrivateUrls: e.LORALOOP_ALLOW_PRIVATE_URLS ?? false,
    httpToken: e.LORALOOP_HTTP_TOKEN,
    logLevel: e.LORALOOP_LOG_LEVEL ?? 'info',
    replicate: {
      apiToken: e.REPLICATE_API_TOKEN,
      baseUrl: (e.REPLICATE_BASE_URL ?? 'https://api.replicate.com/v1').replace(/\/+$/, ''),
      webhookSecret: e.REPLICATE_WEBHOOK_SECRET,
      trainer: e.LORALOOP_REPLICATE_TRAINER ?? DEFAULT_REPLICATE_TRAINER,
      destination: e.LORALOOP_REPLICATE_DESTINATION,
      model: e.LORALOOP_REPLICATE_MODEL,
      webhookUrl: e.LORALOOP_REPLICATE_WEBHOOK_URL,
    },
    kohya: { cmd: e.LORALOOP_KOHYA_CMD, baseModel: e.LORALOOP_KOHYA_BASE_MODEL },
    training: { pollMs: e.LORALOOP_TRAINING_POLL_MS, leaseMs: e.LORALOOP_TRAINING_LEASE_MS },
    databaseUrl: e.LORALOOP_DATABASE_URL,
    queue,
    blobs: parseBlobLocation(e.LORALOOP_BLOBS),
    objectStoreEnv: Object.fromEntries(
      Object.entries(env).filter((kv): kv is [string, string] => /^(AWS_|AZURE_STORAGE_)/.test(kv[0]) && typeof kv[1] === 'string' && kv[1] !== ''),
    ),
    comfyuiUrls,
    checkpointTiers: e.LORALOOP_CHECKPOINT_TIERS,
    openai: {
      apiKey: e.OPENAI_API_KEY,
      baseUrl: e.OPENAI_BASE_URL,
      llmModel: e.LORALOOP_LLM_MODEL ?? 'gpt-4o-mini',
      visionModel: e.LORALOOP_VISION_MODEL ?? 'gpt-4o-mini',
    },
    feeds: (e.LORALOOP_FEEDS ?? '')
      .split(',')
      .map((f) => f.trim())
      .filter((f) => f !== ''),
    improveCron: e.LORALOOP_IMPROVE_CRON ?? '0 3 * * *',
    improveTimezone: e.LORALOOP_IMPROVE_TZ,
    slack: {
      botToken: e.SLACK_BOT_TOKEN,
      signingSecret: e.SLACK_SIGNING_SECRET,
      appToken: e.SLACK_APP_TOKEN,
      apiUrl: e.SLACK_API_URL,
    },
    remote: {
      publicUrl: e.LORALOOP_PUBLIC_URL?.replace(/\/+$/, ''),
      oauthIssuer: e.LORALOOP_OAUTH_ISSUER?.replace(/\/+$/, ''),
      oauthAudience: e.LORALOOP_OAUTH_AUDIENCE,
      callBudgetSeconds: e.LORALOOP_CALL_BUDGET_S ?? 45,
      linkTtlSeconds: e.LORALOOP_LINK_TTL_S ?? 3600,
    },
  };
}

/** Every secret value in the config, for the logger's redaction. */
export function configSecrets(c: Config): string[] {
  return [
    c.httpToken,
    c.replicate.apiToken,
    c.replicate.webhookSecret,
    c.openai.apiKey,
    c.slack.botToken,
    databasePassword(c.databaseUrl),
    c.objectStoreEnv.AWS_SECRET_ACCESS_KEY,
    c.objectStoreEnv.AWS_SESSION_TOKEN,
    c.objectStoreEnv.AZURE_STORAGE_KEY,
    c.objectStoreEnv.AZURE_STORAGE_SAS_TOKEN,
    c.objectStoreEnv.AZURE_STORAGE_CONNECTION_STRING,
    /AccountKey=([^;]+)/.exec(c.objectStoreEnv.AZURE_STORAGE_CONNECTION_STRING ?? '')?.[1],
    c.slack.signingSecret,
    c.slack.appToken,
  ].filter((s): s is string => typeof s === 'string' && s.length >= 4);
}

/** The password in LORALOOP_DATABASE_URL, so the logger redacts it wherever it appears. */
function databasePassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

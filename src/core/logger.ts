/**
 * A small structured logger that writes one JSON line per event to stderr (stdout belongs to the MCP
 * protocol). Known secrets and anything that looks like a bearer token or API key are redacted.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

const order: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };

// Token shapes we never want in a log line even if nobody told us the value.
const tokenPatterns: RegExp[] = [
  /\b(Bearer|Token)\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /\b(r8_[A-Za-z0-9]{8,})/g, // Replicate
  /\b(sk-[A-Za-z0-9_-]{8,})/g, // OpenAI-style
  /\b(xox[abposr]-[A-Za-z0-9-]{8,})/g, // Slack bot/user tokens
  /\b(xapp-[A-Za-z0-9-]{8,})/g, // Slack app tokens
  /\b(whsec_[A-Za-z0-9+/=]{8,})/g, // webhook secrets
];

/** Replace every known secret and token-looking string in `text` with [REDACTED]. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('[REDACTED]');
  for (const p of tokenPatterns) out = out.replace(p, (m, g1: string) => (/^(Bearer|Token)$/i.test(g1) ? `${g1} [REDACTED]` : '[REDACTED]'));
  return out;
}

export interface LoggerOptions {
  level?: LogLevel;
  secrets?: readonly string[];
  write?: (line: string) => void;
  now?: () => Date;
}

export function createLogger(options: LoggerOptions = {}, base: Record<string, unknown> = {}): Logger {
  const level = options.level ?? 'info';
  const secrets = options.secrets ?? [];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = options.now ?? (() => new Date());
  const emit = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: Record<string, unknown>) => {
    if (order[lvl] < order[level]) return;
    const record = { t: now().toISOString(), level: lvl, msg, ...base, ...(fields ?? {}) };
    let line: string;
    try {
      line = JSON.stringify(record, (_k, v: unknown) => (v instanceof Error ? { message: v.message, name: v.name } : v));
    } catch {
      line = JSON.stringify({ t: record.t, level: lvl, msg });
    }
    write(redact(line, secrets));
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger(options, { ...base, ...fields }),
  };
}

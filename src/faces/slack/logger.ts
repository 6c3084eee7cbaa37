/**
 * Bolt, its WebClient and the Socket Mode client log through this adapter into our logger, at warn and
 * above only: their debug lines carry request bodies and headers, and we never want those (or a token
 * a library forgot to redact) on stderr. Our logger still redacts known secrets on top.
 */
import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../../core/logger.js';

const MAX_CHARS = 2000;

function describe(parts: unknown[]): string {
  const text = parts
    .map((p) => {
      if (typeof p === 'string') return p;
      if (p instanceof Error) return `${p.name}: ${p.message}`;
      try {
        return JSON.stringify(p);
      } catch {
        return String(p);
      }
    })
    .join(' ');
  return text.length > MAX_CHARS ? `${text.slice(0, MAX_CHARS)}…` : text;
}

/** A @slack/logger Logger that forwards warn and error to `logger` and drops debug and info. */
export function toBoltLogger(logger: Logger): BoltLogger {
  let name = 'slack';
  return {
    debug: () => {},
    info: () => {},
    warn: (...msg: unknown[]) => logger.warn(describe(msg), { source: name }),
    error: (...msg: unknown[]) => logger.error(describe(msg), { source: name }),
    // Bolt and the clients call setLevel with their own defaults; the floor stays at warn whatever they ask.
    setLevel: () => {},
    getLevel: () => LogLevel.WARN,
    setName: (n: string) => {
      name = n;
    },
  };
}

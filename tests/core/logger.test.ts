import { describe, expect, it } from 'vitest';
import { createLogger, redact } from '../../src/core/logger.js';

describe('logger', () => {
  it('writes JSON lines and redacts configured secrets and token-looking strings', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'info', secrets: ['s3cret-value'], write: (l) => lines.push(l) });
    log.info('calling upstream', { auth: 'Bearer abcdefghijklmnop', key: 's3cret-value', slack: 'xoxb-1234567890-abcdef' });
    log.debug('hidden at info level');
    expect(lines).toHaveLength(1);
    const line = lines[0]!;
    expect(JSON.parse(line).msg).toBe('calling upstream');
    expect(line).not.toContain('s3cret-value');
    expect(line).not.toContain('abcdefghijklmnop');
    expect(line).not.toContain('xoxb-1234567890');
    expect(line).toContain('[REDACTED]');
  });

  it('redacts Replicate and OpenAI style keys without being told them', () => {
    expect(redact('token r8_ABCDEFGHIJKLMNOP and sk-proj-abcdefghijk', [])).toBe('token [REDACTED] and [REDACTED]');
  });
});

import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { CliIo } from './io.js';

/** node:util parseArgs that reports a bad option as a usage error instead of throwing; null means exit 2. */
export function parseCommandArgs<T extends ParseArgsConfig>(io: CliIo, config: T): ReturnType<typeof parseArgs<T>> | null {
  try {
    return parseArgs(config);
  } catch (e) {
    io.stderr(`error: ${(e as Error).message}\n`);
    return null;
  }
}

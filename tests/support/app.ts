import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createApp, type App, type AppOverrides } from '../../src/app.js';
import { loadConfig } from '../../src/core/config.js';
import { createLogger } from '../../src/core/logger.js';
import { allTools } from '../../src/all-tools.js';
import { registerHome, testDatabaseEnv } from './database.js';

/** A real app on a fresh temp LORALOOP_HOME, with logs kept quiet unless LORALOOP_TEST_LOGS=1. */
export function makeTestApp(env: Record<string, string> = {}, overrides: AppOverrides = {}): { app: App; home: string; dispose: () => Promise<void> } {
  const home = mkdtempSync(join(tmpdir(), 'loraloop-test-'));
  const config = loadConfig({ LORALOOP_HOME: home, LORALOOP_ALLOWED_ROOTS: `${home}:${tmpdir()}`, ...testDatabaseEnv(), ...env }, home);
  registerHome(home, config.databaseUrl);
  const logger = overrides.logger ?? createLogger({ level: process.env.LORALOOP_TEST_LOGS ? 'debug' : 'silent' });
  const app = createApp(config, allTools(), { logger, ...overrides });
  return {
    app,
    home,
    dispose: async () => {
      await app.close();
      rmSync(home, { recursive: true, force: true });
    },
  };
}

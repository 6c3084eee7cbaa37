/**
 * A loraloop process for the kill test: runs improve_run on the home named by the environment (exactly as
 * src/main.ts would configure it) until it is killed. Short leases so the next process can take over soon.
 */
import { createApp } from '../../../src/app.js';
import { allTools } from '../../../src/all-tools.js';
import { loadConfig } from '../../../src/core/config.js';
import { createLogger } from '../../../src/core/logger.js';

const config = loadConfig(process.env, process.cwd());
const app = createApp(config, allTools(), {
  logger: createLogger({ level: process.env['LORALOOP_TEST_LOGS'] ? 'debug' : 'silent' }),
  trainingOptions: { pollIntervalMs: 20, leaseTtlMs: 1500, scanIntervalMs: 300 },
  improveOptions: { leaseTtlMs: 1500, promptsPerCategory: 1 },
});

async function main(): Promise<void> {
  const r = await app.tools.execute('improve_run', {}, app.context('cli'));
  process.stdout.write(`DONE ${r.success} ${r.reasoning}\n`);
  await app.close();
}

void main();

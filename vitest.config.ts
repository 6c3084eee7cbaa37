import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // LORALOOP_TEST_DATABASE=postgres (npm run test:postgres) runs the same suite on a real PostgreSQL.
    globalSetup: ['tests/support/pg-global.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: forks keep native modules (sharp, better-sqlite3) isolated per worker.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
  },
});

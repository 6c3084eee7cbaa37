/**
 * Kysely as the store loads it at run time. The package is ~300 ES modules, and loading them cost a cold
 * `loraloop cover` about a fifth of a second of CPU; `npm run build` replaces this file in dist with one
 * bundled module (esbuild), so built programs load a single file. Runs from source (tsx, vitest) load the
 * package as usual. Types may come from 'kysely' directly; values come from here (eslint says so).
 */
export * from 'kysely';

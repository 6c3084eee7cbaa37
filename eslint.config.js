import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', '.tmp/**', '.tmp-*'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'error',
      'no-console': ['error', { allow: ['error', 'warn'] }],
    },
  },
  {
    files: ['src/main.ts', 'src/faces/cli/**', 'bench/**', 'scripts/**', 'tests/**'],
    rules: { 'no-console': 'off' },
  },
  {
    // The store is async: a call without `await` is a write that may not have happened yet, and a Promise in a
    // condition is always truthy. These rules need types, so they run with the TypeScript project.
    files: ['src/**/*.ts', 'tests/**/*.ts', 'bench/**/*.ts', 'scripts/**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
    },
  },
  {
    // No query and no database handle outside the store: everything goes through its repositories.
    files: ['**/*.ts'],
    ignores: ['src/store/**', 'tests/support/sqlite.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'better-sqlite3', message: 'Only src/store talks to the database; add a repository method instead.' },
            { name: 'kysely', message: 'Only src/store talks to the database; add a repository method instead.' },
          ],
          patterns: [
            { group: ['**/store/sqlite.js', '**/store/backend.js', '**/store/context.js', '**/store/migrate.js', '**/store/migrations/**'], message: 'Database internals of src/store; use the Store and its repositories.' },
          ],
        },
      ],
    },
  },
);

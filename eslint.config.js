// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'coverage/**', 'console/dist/**', 'packages/*/dist/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // Tests read JSON answers of many shapes; typing each one would only restate the API.
    files: ['test/**/*.ts', 'packages/*/test/**/*.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // One-way dependencies (ENGINEERING.md §7): the engine is pure and imports nothing of
    // the store, the server or Node's I/O; the store never reaches into the server.
    files: ['src/engine/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['../store/*', '../server/*', '../cli/*', 'node:*', 'fs', 'crypto', 'better-sqlite3', 'pg', 'fastify'] }],
      'no-restricted-globals': ['error', { name: 'Date', message: 'The engine takes `now` from its caller.' }],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'The engine takes ids from its caller.' }],
    },
  },
  {
    files: ['src/store/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['../server/*', '../../server/*', '../cli/*', '../../cli/*', 'fastify'] }] },
  },
  {
    // The client SDK runs in browsers and depends on nothing of the server (ENGINEERING.md §7).
    files: ['packages/client/src/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['../../../src/*', '**/src/server/*', '**/src/engine/*', '**/src/store/*', 'node:*', 'fastify'] }] },
  },
  {
    // The web console talks to the server over HTTP only, like any other client.
    files: ['console/src/**/*.ts', 'console/src/**/*.tsx'],
    rules: { 'no-restricted-imports': ['error', { patterns: ['../../src/*', '**/src/server/*', '**/src/engine/*', '**/src/store/*', 'node:*', 'fastify'] }] },
  },
);

// Lint rules that keep the architecture honest (docs/architecture.md). Which folder may import
// which, and that no files import each other in a circle, is checked by tools/check-imports.mjs
// (also run by `make lint`); these rules keep I/O and transports out of the engine's folders.
import tseslint from 'typescript-eslint';

const transportsAndIo = [
  { name: 'uWebSockets.js', message: 'the engine knows no transport' },
  { name: 'classic-level', message: 'the engine knows no storage engine; implement engine/log.ts in storage/' },
  { name: '@grpc/grpc-js', message: 'the engine knows no transport' },
  { name: 'node:fs', message: 'the engine does no I/O' },
  { name: 'node:net', message: 'the engine does no I/O' },
  { name: 'node:http', message: 'the engine knows no transport' },
  { name: 'pino', message: 'the engine reports through return values and errors, not logs' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'src/generated/**', 'bench/results/**', 'web/dist/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', ignoreRestSiblings: true }],
      'no-restricted-properties': [
        'error',
        { object: 'test', property: 'only', message: 'no .only in committed tests' },
        { object: 'describe', property: 'only', message: 'no .only in committed tests' },
        { object: 'it', property: 'only', message: 'no .only in committed tests' },
      ],
    },
  },
  {
    // The engine's folders: pure logic over interfaces (the Log, the lock store, the search parts).
    files: [
      'src/basics/**/*.ts',
      'src/tenancy/**/*.ts',
      'src/engine/**/*.ts',
      'src/locks/**/*.ts',
      'src/streams/**/*.ts',
      'src/gate/**/*.ts',
      'src/memory/**/*.ts',
      'src/search/{search,search-docs,search-query,search-types,indexer}.ts',
    ],
    rules: {
      'no-restricted-imports': ['error', { paths: transportsAndIo }],
    },
  },
  {
    files: ['src/storage/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../transport/*', '../cli/*'], message: 'storage knows no transport' }] }],
    },
  },
  {
    files: ['src/transport/http/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['../grpc/*', '../../storage/*'], message: 'a transport talks to the Engine only' }] }],
    },
  },
);

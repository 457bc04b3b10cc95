// Lint rules that keep the architecture honest (see ARCHITECTURE in docs/architecture.md).
import tseslint from 'typescript-eslint';

const transportsAndIo = [
  { name: 'uWebSockets.js', message: 'core/ knows no transport' },
  { name: 'classic-level', message: 'core/ knows no storage engine; implement core/log.ts in storage/' },
  { name: '@grpc/grpc-js', message: 'core/ knows no transport' },
  { name: 'node:fs', message: 'core/ does no I/O' },
  { name: 'node:net', message: 'core/ does no I/O' },
  { name: 'node:http', message: 'core/ knows no transport' },
  { name: 'pino', message: 'core/ reports through return values and errors, not logs' },
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
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: transportsAndIo,
          patterns: [
            { group: ['../transport/*', '../storage/*', '../cli/*', '../config/*'], message: 'core/ depends on nothing above it' },
          ],
        },
      ],
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

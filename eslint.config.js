// Lint, including the layering rules of DESIGN.md: dependencies point one way
// (api, desktop, cli → ceremony, kms, auth → keystores → seal, audit → crypto, store), and the
// native/platform modules are imported only by the one folder that owns them.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layer = (files, forbidden, message) => ({
  files,
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: forbidden.map((group) => ({ group: [group], message })),
        paths: [
          { name: 'electron', message: 'Only main/desktop/ may import electron.' },
          { name: 'pkcs11js', message: 'Only main/keystores/hsm/ and main/devices/ may import pkcs11js.' },
          ...(files.some((f) => f.startsWith('main/store')) ? [] : [{ name: 'sqlite3', message: 'Only main/store/ may import sqlite3.' }]),
        ],
      },
    ],
  },
});

const upper = ['**/api/**', '**/desktop/**', '**/cli/**', '**/app.js', '**/app'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'native/**/build/**', '.kura-dev/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', Buffer: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', URL: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    // AssemblyScript: == compares values of value types, and u64 literals exceed JS doubles on purpose.
    files: ['native/**/assembly/**/*.ts'],
    rules: { eqeqeq: 'off', 'no-loss-of-precision': 'off', '@typescript-eslint/no-loss-of-precision': 'off', 'prefer-const': 'off' },
  },
  layer(['main/store/**'], [...upper, '**/kms/**', '**/keystores/**', '**/seal/**', '**/audit/**', '**/auth/**', '**/ceremony/**'], 'main/store is the bottom layer.'),
  layer(['main/crypto/**'], [...upper, '**/kms/**', '**/keystores/**', '**/seal/**', '**/audit/**', '**/auth/**', '**/ceremony/**', '**/store/**'], 'main/crypto depends on nothing else in main/.'),
  layer(['main/seal/**', 'main/audit/**'], [...upper, '**/kms/**', '**/keystores/**', '**/auth/**', '**/ceremony/**'], 'seal and audit sit below kms and keystores.'),
  layer(['main/keystores/**'], [...upper, '**/kms/**', '**/auth/**', '**/ceremony/**'], 'keystores sit below kms.'),
  layer(['main/kms/**', 'main/auth/**', 'main/ceremony/**'], upper, 'kms, auth and ceremony never import the transports or the composition root.'),
  layer(['main/api/**'], ['**/desktop/**', '**/cli/**', '**/app.js', '**/app', '**/store/**'], 'api talks to the domain services, never to store/ directly.'),
  layer(['main/cli/**', 'main/app.ts', 'main/console/**', 'test/**', 'bench/**', 'scripts/**'], [], ''),
);

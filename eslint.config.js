// Lint, including the layering rules: one allow-list table of which folder of main/ may import
// which (docs/ARCHITECTURE.md shows the same table), and the owners of the native and platform
// modules. A folder of main/ that has no row is refused until it gets one, so a new layer is a
// decision written here, not an accident. test/lint/layering.test.ts proves every row both ways.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import js from '@eslint/js';
import pluginVue from 'eslint-plugin-vue';
import tseslint from 'typescript-eslint';
import vueParser from 'vue-eslint-parser';

const ROOT = path.dirname(fileURLToPath(import.meta.url));
const MAIN = path.join(ROOT, 'main');

/**
 * Folder (or root file) of main/ → the folders it may import besides itself. Dependencies point one
 * way: transports and the CLI → the KMS domain and auth → key stores → seal, audit → crypto, store →
 * common. `app.ts` is the composition root and may import everything.
 */
export const LAYERS = {
  common: [],
  crypto: ['common'],
  store: ['common'],
  sigv4: ['common'],
  devices: ['common'],
  audit: ['common', 'store'],
  seal: ['common', 'crypto', 'store', 'devices'],
  keystores: ['common', 'crypto', 'sigv4', 'seal', 'devices'],
  auth: ['common', 'crypto', 'seal', 'store', 'audit'],
  kms: ['common', 'crypto', 'keystores', 'seal', 'store', 'audit'],
  ceremony: ['common', 'crypto', 'store', 'audit', 'kms'],
  console: ['common'],
  api: ['common', 'crypto', 'sigv4', 'seal', 'audit', 'auth', 'kms', 'ceremony', 'console'],
  cli: ['common', 'sigv4', 'store', 'audit', 'devices', 'api', 'ceremony', 'console', 'app.ts'],
  desktop: ['common', 'console', 'app.ts'],
  'app.ts': '*',
};

/** Packages only their owner folders may import (prefix match: `@noble/` covers every @noble package). */
export const MODULE_OWNERS = [
  { modules: ['sqlite3'], owners: ['store/sqlite'] },
  { modules: ['pkcs11js'], owners: ['keystores/hsm', 'devices'] },
  { modules: ['electron'], owners: ['desktop'] },
  { modules: ['node:http', 'node:https', 'http', 'https'], owners: ['api', 'keystores/external'] },
  { modules: ['@noble/'], owners: ['crypto'] },
  { modules: ['node-hid', 'usb'], owners: ['devices'] },
];

/** The row of a file of main/: its first folder, or the file's own name for files at the top. */
function rowOf(file) {
  const rel = path.relative(MAIN, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const parts = rel.split(path.sep);
  // A top-level file is its own row; imports name it by its compiled .js name.
  return parts.length === 1 ? parts[0].replace(/\.(js|mjs|ts)$/, '.ts') : parts[0];
}

/**
 * Folders whose subfolders are their own: the store's implementations (main/store/sqlite/, and any later
 * one) are reached only through its ports and openStore, so that no other folder can get at the SQL
 * behind an opaque Tx.
 */
const PRIVATE_SUBFOLDERS = ['store'];

/** Whether `target` lies in a subfolder of main/<row>/ rather than in main/<row>/ itself. */
const inSubfolderOf = (row, target) => path.relative(path.join(MAIN, row), target).split(path.sep).length > 1;

const matchesModule = (source, mod) => (mod.endsWith('/') ? source.startsWith(mod) : source === mod || source.startsWith(`${mod}/`));

const layersRule = {
  meta: { type: 'problem', schema: [], messages: { layer: '{{text}}' } },
  create(context) {
    const file = context.filename;
    const inMain = rowOf(file) !== undefined;
    const inRenderer = path.relative(path.join(ROOT, 'renderer'), file).split(path.sep)[0] !== '..';
    const relInMain = inMain ? path.relative(MAIN, file).split(path.sep).join('/') : '';
    const check = (node, source, typeOnly) => {
      if (typeof source !== 'string') return;
      const report = (text) => context.report({ node, messageId: 'layer', data: { text } });
      if (source.startsWith('.')) {
        const target = path.resolve(path.dirname(file), source);
        const targetRow = rowOf(target);
        if (inRenderer) {
          if (targetRow !== undefined && !(typeOnly && targetRow === 'console')) {
            report('The renderer may import from main/ only the types of main/console/ (import type).');
          }
          return;
        }
        if (!inMain || targetRow === undefined) return;
        const row = rowOf(file);
        const allowed = LAYERS[row];
        if (allowed === undefined) return;
        if (targetRow !== row && PRIVATE_SUBFOLDERS.includes(targetRow) && inSubfolderOf(targetRow, target) && (allowed === '*' || allowed.includes(targetRow))) {
          report(`main/${targetRow}/${path.relative(path.join(MAIN, targetRow), path.dirname(target)).split(path.sep).join('/')}/ is main/${targetRow}'s own: import main/${targetRow}/index.ts instead.`);
          return;
        }
        if (targetRow === row || allowed === '*') return;
        if (LAYERS[targetRow] === undefined) {
          report(`main/${targetRow} has no row in the layer table of eslint.config.js.`);
          return;
        }
        if (!allowed.includes(targetRow)) {
          report(`main/${row} may not import main/${targetRow} (allowed: ${allowed.join(', ') || 'nothing of Kura'}); see the layer table in eslint.config.js.`);
        }
        return;
      }
      if (!inMain) return;
      for (const { modules, owners } of MODULE_OWNERS) {
        if (!modules.some((m) => matchesModule(source, m))) continue;
        if (!owners.some((o) => relInMain.startsWith(`${o}/`))) {
          report(`Only main/${owners.join('/ and main/')}/ may import ${source}.`);
        }
      }
    };
    return {
      Program(node) {
        const row = rowOf(file);
        if (row !== undefined && LAYERS[row] === undefined) {
          context.report({ node, messageId: 'layer', data: { text: `main/${row} has no row in the layer table of eslint.config.js; add one before adding code there.` } });
        }
      },
      ImportDeclaration: (node) => check(node, node.source.value, node.importKind === 'type'),
      ExportNamedDeclaration: (node) => node.source && check(node, node.source.value, node.exportKind === 'type'),
      ExportAllDeclaration: (node) => check(node, node.source.value, node.exportKind === 'type'),
      ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value, false),
    };
  },
};

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'native/**/build/**', '.kura-dev/**', 'release/**', 'test-output/**'] },
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
  {
    files: ['main/**/*.ts', 'main/**/*.cts', 'renderer/**/*.ts', 'renderer/**/*.vue'],
    plugins: { kura: { rules: { layers: layersRule } } },
    rules: { 'kura/layers': 'error' },
  },
  // The operator console: Vue SFCs (vue-eslint-parser, with typescript-eslint's parser for <script lang="ts">)
  // under eslint-plugin-vue's recommended rules, less its layout rules (formatting is not lint's business).
  ...pluginVue.configs['flat/recommended'].map((c) => ({ ...c, files: ['renderer/**/*.{ts,vue}'] })),
  {
    files: ['renderer/**/*.{ts,vue}'],
    languageOptions: {
      parser: vueParser,
      parserOptions: { parser: tseslint.parser, sourceType: 'module', extraFileExtensions: ['.vue'] },
    },
    rules: {
      ...pluginVue.configs['no-layout-rules'].rules,
      // TypeScript (vue-tsc) checks names; the browser's globals need no list here.
      'no-undef': 'off',
    },
  },
);

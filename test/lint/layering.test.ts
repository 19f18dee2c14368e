// The layer table of eslint.config.js is enforced by lint: every row is tested both ways (each import
// it allows passes, each folder it does not list is refused), as are the module owners, the renderer's
// limit to the console contract's types, and the refusal of a folder that has no row. A rule that
// silently stopped matching would fail here rather than let a wrong import through.
import { ESLint } from 'eslint';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { LAYERS, MODULE_OWNERS } from '../../eslint.config.js';
import { ROOT } from '../support/kura-process.js';

const eslint = new ESLint({ cwd: ROOT });
const table = LAYERS;
const rows = Object.keys(table);

async function layerMessages(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result!.messages.filter((m) => m.ruleId === 'kura/layers').map((m) => m.message);
}

/** A file in a row, and how a file in another row imports something of it. */
const fileIn = (row: string) => (row.endsWith('.ts') ? `main/${row}` : `main/${row}/probe.ts`);
const importOf = (from: string, target: string) => {
  const spec = target.endsWith('.ts') ? target.replace(/\.ts$/, '.js') : `${target}/thing.js`;
  return from.endsWith('.ts') ? `import './${spec}';` : `import '../${spec}';`;
};

describe('the layer table', () => {
  for (const row of rows) {
    const allowed = table[row]!;
    const may = allowed === '*' ? rows.filter((r) => r !== row) : allowed;
    const mayNot = allowed === '*' ? [] : rows.filter((r) => r !== row && !allowed.includes(r));
    for (const target of may) {
      it(`main/${row} may import main/${target}`, async () => {
        expect(await layerMessages(fileIn(row), importOf(row, target))).toEqual([]);
      });
    }
    for (const target of mayNot) {
      it(`main/${row} may not import main/${target}`, async () => {
        const messages = await layerMessages(fileIn(row), importOf(row, target));
        expect(messages).toHaveLength(1);
        expect(messages[0]).toMatch(/may not import/);
      });
    }
  }

  it('common imports nothing of Kura', () => {
    expect(table.common).toEqual([]);
  });

  it('a folder of main/ without a row is refused, and so is importing it', async () => {
    expect((await layerMessages('main/newlayer/x.ts', 'export const x = 1;')).join()).toMatch(/no row/);
    expect((await layerMessages('main/kms/x.ts', "import '../newlayer/x.js';")).join()).toMatch(/no row/);
  });

  it('main/store/sqlite/ is the store\'s own: other folders reach the store through main/store/index.ts', async () => {
    for (const [file, code] of [
      ['main/kms/x.ts', "import type { SqliteDatabase } from '../store/sqlite/database.js'; export type { SqliteDatabase };"],
      ['main/audit/x.ts', "import '../store/sqlite/audit-repository.js';"],
      ['main/app.ts', "import './store/sqlite/database.js';"],
    ] as const) {
      expect((await layerMessages(file, code)).join(), file).toMatch(/main\/store\/sqlite\/ is main\/store's own/);
    }
    expect(await layerMessages('main/kms/x.ts', "import type { Tx } from '../store/index.js'; export type { Tx };")).toEqual([]);
    expect(await layerMessages('main/store/x.ts', "import './sqlite/database.js';")).toEqual([]);
    expect(await layerMessages('main/store/sqlite/x.ts', "import '../repositories.js';")).toEqual([]);
  });

  it('type-only and re-export imports are checked too', async () => {
    expect(await layerMessages('main/kms/x.ts', "import type { X } from '../api/server.js'; export type { X };")).toHaveLength(1);
    expect(await layerMessages('main/kms/x.ts', "export * from '../cli/main.js';")).toHaveLength(1);
    expect(await layerMessages('main/kms/x.ts', "void import('../api/server.js');")).toHaveLength(1);
  });
});

describe('module owners', () => {
  for (const { modules, owners } of MODULE_OWNERS) {
    for (const mod of modules) {
      const spec = mod.endsWith('/') ? `${mod}curves` : mod;
      for (const owner of owners) {
        it(`main/${owner}/ may import ${spec}`, async () => {
          // (main/devices and main/desktop have no row yet, which is reported on its own.)
          expect((await layerMessages(`main/${owner}/x.ts`, `import '${spec}';`)).filter((m) => m.startsWith('Only'))).toEqual([]);
        });
      }
      const outsider = owners.includes('kms') ? 'api' : 'kms';
      it(`main/${outsider}/ may not import ${spec}`, async () => {
        expect((await layerMessages(`main/${outsider}/x.ts`, `import '${spec}';`)).join()).toMatch(/Only main\//);
      });
    }
  }
});

describe('the renderer', () => {
  it('may import the types of main/console, nothing else of main/', async () => {
    expect(await layerMessages('renderer/stores/x.ts', "import type { Command } from '../../main/console/contract.js'; export type { Command };")).toEqual([]);
    expect(await layerMessages('renderer/stores/x.ts', "import { run } from '../../main/console/contract.js'; void run;")).toHaveLength(1);
    expect(await layerMessages('renderer/stores/x.ts', "import '../../main/kms/index.js';")).toHaveLength(1);
  });
});

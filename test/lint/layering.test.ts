// The layering rules of DESIGN.md are enforced by lint: these cases prove the rules fire, so a rule
// that silently stopped matching would fail here rather than let a wrong import through.
import { ESLint } from 'eslint';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../support/kura-process.js';

const eslint = new ESLint({ cwd: ROOT });

async function restrictedImports(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result!.messages.filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layering rules', () => {
  const cases: [string, string, boolean][] = [
    ['main/kms/x.ts', "import '../api/server.js';", true],
    ['main/kms/x.ts', "import '../cli/main.js';", true],
    ['main/kms/x.ts', "import sqlite3 from 'sqlite3'; void sqlite3;", true],
    ['main/kms/x.ts', "import 'electron';", true],
    ['main/kms/x.ts', "import '../store/index.js';", false],
    ['main/store/x.ts', "import sqlite3 from 'sqlite3'; void sqlite3;", false],
    ['main/store/x.ts', "import '../kms/key-service.js';", true],
    ['main/crypto/x.ts', "import '../store/index.js';", true],
    ['main/crypto/x.ts', "import '../seal/root-key.js';", true],
    ['main/seal/x.ts', "import '../kms/key-service.js';", true],
    ['main/keystores/x.ts', "import '../kms/key-service.js';", true],
    ['main/keystores/x.ts', "import '../seal/root-key.js';", false],
    ['main/api/x.ts', "import '../store/index.js';", true],
    ['main/api/x.ts', "import '../kms/key-service.js';", false],
    ['main/api/x.ts', "import 'pkcs11js';", true],
    ['main/cli/x.ts', "import '../app.js';", false],
  ];
  for (const [file, code, forbidden] of cases) {
    it(`${file}: ${code} is ${forbidden ? 'refused' : 'allowed'}`, async () => {
      const messages = await restrictedImports(file, code);
      expect(messages.length > 0).toBe(forbidden);
    });
  }
});

// The headless appliance never loads electron (DESIGN.md): run `kura serve` with a resolve hook
// that records every import, exercise it, and check the list.
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { kmsClient } from '../support/kms-client.js';
import { ROOT, startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';

describe('headless appliance', () => {
  const dir = tempDataDir();
  const record = path.join(dir, 'imports.txt');
  let kura: KuraProcess;
  beforeAll(async () => {
    kura = await startKura({
      dataDir: path.join(dir, 'data'),
      env: { KURA_RECORD_IMPORTS: record, NODE_OPTIONS: `--import ${path.join(ROOT, 'test', 'support', 'record-imports.mjs')}` },
    });
  });
  afterAll(async () => {
    await kura.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves KMS calls without ever resolving electron', async () => {
    await kmsClient(kura).send(new CreateKeyCommand({}));
    const imports = fs.readFileSync(record, 'utf8').split('\n').filter(Boolean);
    expect(imports).toContain('sqlite3');
    expect(imports.some((s) => s.endsWith('app.js'))).toBe(true);
    expect(imports.filter((s) => s === 'electron' || s.startsWith('electron/'))).toEqual([]);
  });

  it('writes its database, WAL and tokens for its owner only', () => {
    for (const name of ['kura.db', 'kura.db-wal', 'admin.token', 'root.key']) {
      const file = path.join(kura.dataDir, name);
      expect(fs.statSync(file).mode & 0o077, name).toBe(0);
    }
  });
});

// The store's contract suites (test/store/contract/) on SQLite: each test gets a new database file in a
// temporary directory, opened and migrated by openStore as the appliance opens its own.
import fs from 'node:fs';
import path from 'node:path';
import { openStore } from '../../../main/store/index.js';
import { tempDir } from '../../support/domain.js';
import type { StoreHarness } from '../contract/harness.js';

export async function openSqliteStore(): Promise<StoreHarness> {
  const dir = tempDir('kura-store-');
  const store = await openStore(path.join(dir, 'kura.db'));
  return {
    store,
    close: async () => {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// A standard key store over its own SQLite database, unsealed with a fresh dev root key and wired to a
// registry as the appliance wires it: for the key store tests (the standard store's own, and the
// external store's, whose inner material lives there).
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { wasmAead, wasmKeyWrap } from '../../main/crypto/wasm-aead.js';
import { KeyStoreRegistry } from '../../main/keystores/key-store.js';
import { StandardKeyStore } from '../../main/keystores/standard/standard-key-store.js';
import { RootKeyHolder } from '../../main/seal/root-key.js';
import { openStore, type Store } from '../../main/store/index.js';

export interface UnsealedStandard {
  db: Store;
  root: RootKeyHolder;
  store: StandardKeyStore;
  /** Unseals again with the same root key. */
  unseal(): Promise<void>;
}

export async function unsealedStandardStore(dir: string): Promise<UnsealedStandard> {
  const db = await openStore(path.join(dir, 'kura.db'));
  const root = new RootKeyHolder({ db: db.db, appliance: db.appliance, aead: wasmAead, clock: { nowMs: () => Date.now() }, applianceId: randomUUID() });
  await root.load();
  const rootKey = randomBytes(32);
  await root.initAndUnsealDev(rootKey);
  const store = new StandardKeyStore({ aead: wasmAead, root, keyWrap: wasmKeyWrap });
  new KeyStoreRegistry({ standard: store, root });
  return { db, root, store, unseal: () => root.initAndUnsealDev(rootKey) };
}

// SqliteCustomKeyStoreRepository (main/store/sqlite/custom-key-store-repository.ts, over the
// custom_key_stores table) passes the contract of CustomKeyStoreRepository
// (test/store/contract/custom-key-store-repository.ts).
import { customKeyStoreRepositoryContract } from '../contract/custom-key-store-repository.js';
import { openSqliteStore } from './harness.js';

customKeyStoreRepositoryContract('SQLite', openSqliteStore);

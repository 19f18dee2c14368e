// SqliteImportTokenRepository (main/store/sqlite/import-token-repository.ts, over the import_tokens
// table) passes the contract of ImportTokenRepository
// (test/store/contract/import-token-repository.ts).
import { importTokenRepositoryContract } from '../contract/import-token-repository.js';
import { openSqliteStore } from './harness.js';

importTokenRepositoryContract('SQLite', openSqliteStore);

// SqliteAliasRepository (main/store/sqlite/alias-repository.ts, over the aliases table) passes the
// contract of AliasRepository (test/store/contract/alias-repository.ts).
import { aliasRepositoryContract } from '../contract/alias-repository.js';
import { openSqliteStore } from './harness.js';

aliasRepositoryContract('SQLite', openSqliteStore);

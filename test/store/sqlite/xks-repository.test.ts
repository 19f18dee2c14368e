// SqliteXksRepository (main/store/sqlite/xks-repository.ts, over the xks_* tables of migration 7)
// passes the contract of XksRepository (test/store/contract/xks-repository.ts).
import { xksRepositoryContract } from '../contract/xks-repository.js';
import { openSqliteStore } from './harness.js';

xksRepositoryContract('SQLite', openSqliteStore);

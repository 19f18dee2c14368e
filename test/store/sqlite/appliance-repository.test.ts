// SqliteApplianceRepository (main/store/sqlite/appliance-repository.ts, over the appliance and
// seal_config tables) passes the contract of ApplianceRepository
// (test/store/contract/appliance-repository.ts).
import { applianceRepositoryContract } from '../contract/appliance-repository.js';
import { openSqliteStore } from './harness.js';

applianceRepositoryContract('SQLite', openSqliteStore);

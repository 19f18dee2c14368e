// SqliteCeremonyRepository (main/store/sqlite/ceremony-repository.ts, over the operators, quorum_policies,
// approval_requests and approvals tables of migration 10) passes the contract of CeremonyRepository
// (test/store/contract/ceremony-repository.ts).
import { ceremonyRepositoryContract } from '../contract/ceremony-repository.js';
import { openSqliteStore } from './harness.js';

ceremonyRepositoryContract('SQLite', openSqliteStore);

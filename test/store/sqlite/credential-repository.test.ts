// SqliteCredentialRepository (main/store/sqlite/credential-repository.ts, over the credentials table)
// passes the contract of CredentialRepository (test/store/contract/credential-repository.ts).
import { credentialRepositoryContract } from '../contract/credential-repository.js';
import { openSqliteStore } from './harness.js';

credentialRepositoryContract('SQLite', openSqliteStore);

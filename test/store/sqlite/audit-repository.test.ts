// SqliteAuditRepository (main/store/sqlite/audit-repository.ts, over the audit_log table) passes the
// contract of AuditRepository (test/store/contract/audit-repository.ts).
import { auditRepositoryContract } from '../contract/audit-repository.js';
import { openSqliteStore } from './harness.js';

auditRepositoryContract('SQLite', openSqliteStore);

// The XKS routes' audit port (./dispatch.ts, XksAuditSink) on Kura's audit log: every authenticated
// call is one entry (source xks), on the disk before the answer, as every call's entry is; a call
// refused before it was authenticated goes to the refusal log, which coalesces them per source
// address and reason, so that unauthenticated traffic cannot grow the log without bound.
import type { AuditLog } from '../../audit/audit-log.js';
import type { RefusalLog } from '../../audit/refusals.js';
import type { XksAuditSink, XksCallRecord } from './dispatch.js';

export function xksAuditSink(deps: { audit: AuditLog; refusals: RefusalLog }): XksAuditSink {
  return {
    async record(call: XksCallRecord): Promise<void> {
      const operation = `xks:${call.operation}`;
      if (call.accessKeyId === undefined) {
        await deps.refusals.record({ source: 'xks', remote: call.remote, reason: call.errorName ?? 'Unknown', operation, requestId: call.requestId });
        return;
      }
      const details: Record<string, string> = {};
      if (call.storeId !== undefined) details.xksStoreId = call.storeId;
      if (call.kmsRequestId !== undefined) details.kmsRequestId = call.kmsRequestId;
      if (call.kmsOperation !== undefined) details.kmsOperation = call.kmsOperation;
      if (call.kmsKeyArn !== undefined) details.kmsKeyArn = call.kmsKeyArn;
      await deps.audit.append({
        principal: call.awsPrincipalArn ?? `xks:${call.accessKeyId}`,
        accessKeyId: call.accessKeyId,
        source: 'xks',
        operation,
        keyId: call.externalKeyId,
        outcome: call.outcome,
        errorCode: call.errorName,
        requestId: call.requestId,
        details,
      });
    },
  };
}

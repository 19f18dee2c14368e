// The approval gate port of the KMS domain (DESIGN.md, "The unit of work" and "Quorum and
// ceremonies"): the second step of every call, after authorization and before the transaction. A gated
// action class (key import, key deletion, key store changes, …) becomes an approval request that runs
// once M of N custodians have signed it; the call that asked answers AccessDenied naming the request.
// Declared here so that kms/ never imports ceremony/, which implements it with the quorum issue
// (operators, quorum policies and approval requests). Until then nothing is gated, as before.
import { KmsError } from '../common/errors.js';
import type { Key } from './model/index.js';
import type { Caller } from './key-directory.js';

export interface ApprovalRequest {
  caller: Caller;
  /** The IAM action, `kms:` and the operation. */
  action: string;
  keys: readonly Key[];
}

/**
 * What the gate throws for a call that became an approval request: AccessDenied on the wire, as AWS
 * answers a call a policy refuses, and the request's ID for a transport that can show it (the console).
 */
export class ApprovalPendingError extends KmsError {
  constructor(
    message: string,
    readonly approvalRequestId: string,
  ) {
    super('AccessDenied', message);
  }
}

export interface ApprovalGate {
  /** Resolves when the call may run now; otherwise rejects with a KmsError (AccessDenied naming the approval request). */
  admit(request: ApprovalRequest): Promise<void>;
}

/**
 * NOT a quorum: it admits every call, which is all Kura does until the quorum issue (ceremony/:
 * operators, quorum policies, approval requests) replaces it. Named so that nobody mistakes it for one.
 */
export class NoQuorumYetApprovalGate implements ApprovalGate {
  async admit(_request: ApprovalRequest): Promise<void> {}
}

// Test doubles of the unit of work's ports (main/kms/authorization.ts, main/kms/approval-gate.ts): they
// record every request they are asked about, in one shared event list, and refuse with AccessDenied
// while told to, so that a test can see the order of the steps and what a refusal leaves behind.
import { KmsError } from '../../main/common/errors.js';
import type { ApprovalGate, ApprovalRequest } from '../../main/kms/approval-gate.js';
import type { AccessRequest, Authorizer } from '../../main/kms/authorization.js';

export class RecordingAuthorizer implements Authorizer {
  refuse = false;
  readonly seen: AccessRequest[] = [];

  constructor(private readonly events: string[] = []) {}

  async authorize(request: AccessRequest): Promise<void> {
    this.seen.push(request);
    this.events.push(`authorize ${request.action}`);
    if (this.refuse) throw new KmsError('AccessDenied', `The test's authorizer refuses ${request.action}.`);
  }
}

export class RecordingApprovalGate implements ApprovalGate {
  refuse = false;
  readonly seen: ApprovalRequest[] = [];

  constructor(private readonly events: string[] = []) {}

  async admit(request: ApprovalRequest): Promise<void> {
    this.seen.push(request);
    this.events.push(`admit ${request.action}`);
    if (this.refuse) throw new KmsError('AccessDenied', `${request.action} waits for approval request test-approval-1.`);
  }
}

// The authorization port of the KMS domain (DESIGN.md, "The unit of work" and "Authentication and
// authorization"): the first step of every call, before the approval gate and before anything is
// written. Declared here so that kms/ never imports its implementation; the real one — key policies,
// grants and credential scope, evaluated by an IAM-subset evaluator in kms/access/ — comes with the
// authorization issue (key policies and grants enforced). Until then Kura allows every authenticated
// call, exactly as it did before this port existed.
import type { Key } from './model/index.js';
import type { Caller } from './key-directory.js';

export interface AccessRequest {
  caller: Caller;
  /** The IAM action, `kms:` and the operation (kms:Encrypt, kms:CreateKey …). */
  action: string;
  /** The keys the call acts on, as resolved (none for CreateKey, ListKeys …). */
  keys: readonly Key[];
}

export interface Authorizer {
  /** Resolves when the call is allowed; otherwise rejects with a KmsError (AccessDenied). */
  authorize(request: AccessRequest): Promise<void>;
}

/**
 * NOT an authorizer: it allows every call, which is all Kura does until the authorization issue (key
 * policies and grants enforced, kms/access/) replaces it. Named so that nobody mistakes it for policy.
 */
export class AllowAllUntilPoliciesAuthorizer implements Authorizer {
  async authorize(_request: AccessRequest): Promise<void> {}
}

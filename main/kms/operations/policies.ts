// Key policies with AWS KMS semantics (API reference: GetKeyPolicy, PutKeyPolicy, ListKeyPolicies): one
// policy per key, named "default", a well-formed document of at most 32 KiB (../policy.ts). Stored and
// returned; enforcing them is the authorizer's (../authorization.ts).
import { kmsErrors } from '../../common/errors.js';
import type { CallContext } from '../key-directory.js';
import type { Key } from '../model/index.js';
import { checkPolicyDocument } from '../policy.js';
import { updateKey, type OperationDeps } from './common.js';

function checkPolicyName(name: string | undefined): void {
  if (name !== undefined && name !== 'default') throw kmsErrors.notFound(`Policy ${name} is not found. The only key policy name is "default".`);
}

export class PolicyOperations {
  constructor(private readonly deps: OperationDeps) {}

  getKeyPolicy(ctx: CallContext, keyRef: string, policyName?: string): Promise<string> {
    const { directory } = this.deps;
    return directory.run(ctx, {
      kind: 'read',
      keyRef,
      prepare: async () => {
        checkPolicyName(policyName);
        return { keys: [await directory.resolve(ctx, keyRef, false)] as [Key] };
      },
      run: async ({ keys: [k] }) => k.policy,
    });
  }

  putKeyPolicy(ctx: CallContext, keyRef: string, policy: string, policyName?: string): Promise<void> {
    return updateKey(
      this.deps,
      ctx,
      keyRef,
      // Every key state, PendingDeletion included (the Developer Guide's key state table): changing
      // the policy during the waiting period is how someone is given kms:CancelKeyDeletion.
      (k) => ({ ...k, policy }),
      () => {
        checkPolicyName(policyName);
        checkPolicyDocument(policy);
      },
    );
  }

  listKeyPolicies(ctx: CallContext, keyRef: string): Promise<string[]> {
    const { directory } = this.deps;
    return directory.run(ctx, {
      kind: 'read',
      keyRef,
      prepare: async () => ({ keys: [await directory.resolve(ctx, keyRef, false)] }),
      run: async () => ['default'],
    });
  }
}

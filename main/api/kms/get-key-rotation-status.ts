// TrentService.GetKeyRotationStatus
import type { KmsHandler } from './handler.js';

export const getKeyRotationStatus: KmsHandler = async ({ kms }, ctx, input) => {
  const k = await kms.getKeyRotationStatus(ctx, input.KeyId as string);
  // While a key is pending deletion AWS reports rotation as off; cancelling deletion restores it.
  const enabled = k.rotationEnabled && k.state !== 'PendingDeletion';
  return {
    KeyRotationEnabled: enabled,
    KeyId: kms.arnOf(k),
    RotationPeriodInDays: k.rotationEnabled ? (k.rotationPeriodDays ?? undefined) : undefined,
    NextRotationDate: enabled && k.nextRotationAt !== null ? new Date(k.nextRotationAt) : undefined,
  };
};

// TrentService.ScheduleKeyDeletion
import { num, type KmsHandler } from './handler.js';

export const scheduleKeyDeletion: KmsHandler = async ({ kms }, ctx, input) => {
  const k = await kms.scheduleKeyDeletion(ctx, input.KeyId as string, num(input.PendingWindowInDays));
  return { KeyId: kms.arnOf(k), DeletionDate: new Date(k.deletionAt!), KeyState: k.state, PendingWindowInDays: k.pendingWindowDays };
};

// TrentService.ScheduleKeyDeletion
import { num, type KmsHandler } from './handler.js';

export const scheduleKeyDeletion: KmsHandler = async ({ keys }, ctx, input) => {
  const k = await keys.scheduleKeyDeletion(ctx, input.KeyId as string, num(input.PendingWindowInDays));
  return { KeyId: keys.arnOf(k), DeletionDate: new Date(k.deletionAt!), KeyState: k.state, PendingWindowInDays: k.pendingWindowDays };
};

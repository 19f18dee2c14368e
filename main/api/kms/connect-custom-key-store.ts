// TrentService.ConnectCustomKeyStore: succeeds once the attempt is made; whether the token let Kura in
// shows as CONNECTED or FAILED (with its ConnectionErrorCode) in DescribeCustomKeyStores, as in AWS.
import type { KmsHandler } from './handler.js';

export const connectCustomKeyStore: KmsHandler = async ({ kms }, ctx, input) => {
  await kms.connectCustomKeyStore(ctx, input.CustomKeyStoreId as string);
  return {};
};

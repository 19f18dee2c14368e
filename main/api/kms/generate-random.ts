// TrentService.GenerateRandom
import { num, str, type KmsHandler } from './handler.js';

export const generateRandom: KmsHandler = async ({ kms }, ctx, input) => ({
  Plaintext: await kms.generateRandom(ctx, { numberOfBytes: num(input.NumberOfBytes), customKeyStoreId: str(input.CustomKeyStoreId), recipient: input.Recipient }),
});

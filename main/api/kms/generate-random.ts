// TrentService.GenerateRandom
import { num, str, type KmsHandler } from './handler.js';
import { kmsErrors } from '../../common/errors.js';

export const generateRandom: KmsHandler = async ({ keys }, _ctx, input) => {
  const n = num(input.NumberOfBytes);
  if (n === undefined) throw kmsErrors.validation('NumberOfBytes is required.');
  if (input.Recipient !== undefined) throw kmsErrors.validation('Recipient (Nitro Enclaves attestation) is not supported by Kura.');
  return { Plaintext: keys.generateRandom(n, str(input.CustomKeyStoreId)) };
};

// TrentService.GenerateDataKeyWithoutPlaintext: GenerateDataKey, with the plaintext key wiped, not returned.
import { generateDataKey } from './generate-data-key.js';
import type { KmsHandler } from './handler.js';

export const generateDataKeyWithoutPlaintext: KmsHandler = async (deps, ctx, input) => {
  const { Plaintext, ...rest } = await generateDataKey(deps, ctx, input);
  (Plaintext as Buffer).fill(0);
  return rest;
};

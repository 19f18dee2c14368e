// The ceremony tests' check that a call is refused as bad input: a KmsError with code Validation.
import { expect } from 'vitest';
import { isKmsError } from '../../main/common/errors.js';

/** The message of the Validation KmsError `run` throws; fails the test if it throws nothing or another error. */
export function validationRefusal(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    expect(isKmsError(e) && e.code === 'Validation', String(e)).toBe(true);
    return (e as Error).message;
  }
  throw new Error('accepted what must be refused');
}

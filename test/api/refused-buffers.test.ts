// A request refused after its secret members were decoded wipes them (SECURITY.md: request buffers are
// zeroized after the call): the KMS API's model validation (main/api/kms/model/validate.ts) when a member
// after the blob, or the blob's own length, is refused, and the XKS proxy's Encrypt body
// (main/api/xks/decode.ts) when its plaintext is over what Kura takes. Neither decoded buffer reaches a
// caller that would wipe it, so each is caught as it is made (Buffer.from(…, 'base64')).
import { afterEach, describe, expect, it, vi } from 'vitest';
import { decodeRequest } from '../../main/api/kms/model/validate.js';
import { decodeEncrypt } from '../../main/api/xks/decode.js';

const MARKER = 'a plaintext nobody else may read';

/** The buffers decoded from base64 while `fn` runs. */
function decodedDuring(fn: () => unknown): Buffer[] {
  const made: Buffer[] = [];
  const from = Buffer.from.bind(Buffer) as (...args: unknown[]) => Buffer;
  const spy = vi.spyOn(Buffer, 'from').mockImplementation(((...args: unknown[]) => {
    const b = from(...args);
    if (args[1] === 'base64') made.push(b);
    return b;
  }) as typeof Buffer.from);
  try {
    fn();
  } catch {
    // refused, as each case here is
  } finally {
    spy.mockRestore();
  }
  return made;
}

afterEach(() => vi.restoreAllMocks());

describe('buffers of refused requests', () => {
  it('the KMS API wipes a decoded plaintext when a later member, or the blob itself, is refused', () => {
    const plaintext = Buffer.from(MARKER).toString('base64');
    const cases: Record<string, unknown>[] = [
      { KeyId: 'k'.repeat(3000), Plaintext: plaintext },
      { KeyId: 'alias/x', Plaintext: plaintext, EncryptionContext: 'not a map' },
      { KeyId: 'alias/x', Plaintext: Buffer.alloc(4097, 7).toString('base64') },
    ];
    for (const body of cases) {
      expect(() => decodeRequest('Encrypt', body)).toThrow();
      const made = decodedDuring(() => decodeRequest('Encrypt', body));
      expect(made.length, JSON.stringify(Object.keys(body))).toBeGreaterThan(0);
      for (const b of made) expect(b.every((x) => x === 0)).toBe(true);
    }
    // An accepted request's buffers are the caller's, unwiped (dispatch.ts wipes them after the call).
    const accepted = decodeRequest('Encrypt', { KeyId: 'alias/x', Plaintext: plaintext });
    expect((accepted.Plaintext as Buffer).toString()).toBe(MARKER);
  });

  it('the XKS proxy wipes a decoded plaintext over what Kura takes', () => {
    const body = {
      requestMetadata: { awsPrincipalArn: 'arn:aws:iam::111122223333:user/a', kmsKeyArn: 'arn:aws:kms:us-east-1:111122223333:key/k', kmsOperation: 'Encrypt', kmsRequestId: 'r' },
      encryptionAlgorithm: 'AES_GCM',
      plaintext: Buffer.concat([Buffer.from(MARKER), Buffer.alloc(70_000, 1)]).toString('base64'),
    };
    expect(() => decodeEncrypt(body)).toThrow(/plaintext is 70032 bytes/);
    const made = decodedDuring(() => decodeEncrypt(body));
    expect(made.length).toBeGreaterThan(0);
    for (const b of made) expect(b.every((x) => x === 0)).toBe(true);
  });
});

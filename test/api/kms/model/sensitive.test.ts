// The sensitive members of a request, as the API model marks them (main/api/kms/model/sensitive.ts):
// taken out of what a gated call's approval request shows, and put back where they were.
import { describe, expect, it } from 'vitest';
import { SEALED_PLACEHOLDER, splitSensitive, withSensitive } from '../../../../main/api/kms/model/sensitive.js';

describe('sensitive members', () => {
  it("takes a custom key store's PIN and proxy credential out, and puts them back", () => {
    const input = {
      CustomKeyStoreName: 'xks',
      KeyStorePassword: 'the-token-pin',
      XksProxyAuthenticationCredential: { AccessKeyId: 'AKIAEXAMPLEEXAMPLEXY', RawSecretAccessKey: 'c2VjcmV0' },
      XksProxyUriPath: '/kms/xks/v1',
    };
    const { open, secrets } = splitSensitive('CreateCustomKeyStore', input);
    expect(open).toEqual({
      CustomKeyStoreName: 'xks',
      KeyStorePassword: SEALED_PLACEHOLDER,
      XksProxyAuthenticationCredential: { AccessKeyId: SEALED_PLACEHOLDER, RawSecretAccessKey: SEALED_PLACEHOLDER },
      XksProxyUriPath: '/kms/xks/v1',
    });
    expect(secrets.map((s) => s.path)).toEqual([['KeyStorePassword'], ['XksProxyAuthenticationCredential', 'AccessKeyId'], ['XksProxyAuthenticationCredential', 'RawSecretAccessKey']]);
    expect(withSensitive(open, secrets)).toEqual(input);
    // The input itself is left as it was.
    expect(input.KeyStorePassword).toBe('the-token-pin');
  });

  it('leaves a call without sensitive members as it is (and an unknown operation too)', () => {
    expect(splitSensitive('ScheduleKeyDeletion', { KeyId: 'k', PendingWindowInDays: 7 })).toEqual({ open: { KeyId: 'k', PendingWindowInDays: 7 }, secrets: [] });
    expect(splitSensitive('NoSuchOperation', { A: 1 }).secrets).toEqual([]);
    expect(splitSensitive('Encrypt', { KeyId: 'k', Plaintext: 'cGxhaW4=' }).open).toEqual({ KeyId: 'k', Plaintext: SEALED_PLACEHOLDER });
  });
});

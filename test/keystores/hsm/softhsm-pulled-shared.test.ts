// A SoftHSM2 token that goes away under two stores sharing its login (main/keystores/hsm/connect.ts): the
// failure is the connection's, so both stores turn FAILED and each one's listeners run once; the failed
// login is not handed to a later connect (which fails on its own, the token being gone); each store then
// closes cleanly. Its own file: the module is left broken (test/keystores/hsm/softhsm-pulled.test.ts).
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { isKmsError } from '../../../main/common/errors.js';
import { connectHsmKeyStore, HsmConnectionError, type HsmConnectionErrorCode } from '../../../main/keystores/hsm/index.js';
import type { StoredMaterial } from '../../../main/keystores/key-store.js';
import { softHsm } from '../../support/tokens.js';
import { payloadFor } from '../contract.js';

const env = softHsm();
const token = env.makeToken('kura-pulled-shared');
afterAll(() => env.cleanup());

describe('a token pulled out from under two stores that share its login', () => {
  it('fails both stores once each, hands the failed login to nobody, and closes both', async () => {
    const config = { modulePath: env.modulePath, tokenLabel: token.label, pin: token.pin };
    const a = await connectHsmKeyStore(config);
    const b = await connectHsmKeyStore(config);
    const heard: Record<string, HsmConnectionErrorCode[]> = { a: [], b: [] };
    a.onFailure((code) => heard.a!.push(code));
    b.onFailure((code) => heard.b!.push(code));
    const keyId = randomUUID();
    const made = await a.generate(keyId, 'SYMMETRIC_DEFAULT');
    const m: StoredMaterial = { keyId, keySpec: 'SYMMETRIC_DEFAULT', materialId: made.materialId, ref: made.ref, publicKey: null };
    await b.encryptBlobPayload(m, payloadFor(m), Buffer.from('before'));

    fs.rmSync(token.dir, { recursive: true, force: true });

    const e = await a.encryptBlobPayload(m, payloadFor(m), Buffer.from('after')).catch((x: unknown) => x);
    expect(isKmsError(e) && e.code).toBe('KeyUnavailable');
    expect([a.connectionState(), b.connectionState()]).toEqual(['FAILED', 'FAILED']);
    expect([a.failure(), b.failure()]).toEqual(['INSUFFICIENT_CLOUDHSM_HSMS', 'INSUFFICIENT_CLOUDHSM_HSMS']);
    const onB = await b.encryptBlobPayload(m, payloadFor(m), Buffer.from('after')).catch((x: unknown) => x);
    expect(isKmsError(onB) && onB.code).toBe('KeyUnavailable');
    expect(heard).toEqual({ a: ['INSUFFICIENT_CLOUDHSM_HSMS'], b: ['INSUFFICIENT_CLOUDHSM_HSMS'] });

    const again = await connectHsmKeyStore(config).catch((x: unknown) => x);
    expect(again).toBeInstanceOf(HsmConnectionError);

    await a.close();
    expect(a.connectionState()).toBe('DISCONNECTED');
    expect(b.connectionState()).toBe('FAILED');
    await b.close();
    expect(b.connectionState()).toBe('DISCONNECTED');
    expect(heard).toEqual({ a: ['INSUFFICIENT_CLOUDHSM_HSMS'], b: ['INSUFFICIENT_CLOUDHSM_HSMS'] });
  });
});

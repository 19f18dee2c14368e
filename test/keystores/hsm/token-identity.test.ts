// Finding a registered token by its label and serial number on SoftHSM2 (tokens made by softhsm2-util in
// a temporary directory): of two tokens labelled alike, the registered serial picks its own, and the
// other's PIN is never tried on it; without a serial that names one, two tokens labelled alike are
// refused rather than guessed. A token in the slot it was found in counts as present only with the
// serial it was found with: a reader's slot may hold another card labelled alike.
import { afterAll, describe, expect, it } from 'vitest';
import { findRegisteredToken, Pkcs11Module, Pkcs11Token } from '../../../main/devices/pkcs11/index.js';
import { connectHsmKeyStore, HsmConnectionError, probeHsmToken } from '../../../main/keystores/hsm/index.js';
import { softHsm } from '../../support/tokens.js';

// Before anything initialises SoftHSM in this process: it reads SOFTHSM2_CONF at C_Initialize.
const env = softHsm();
const first = env.makeToken('kura-twin', '1111111');
const second = env.makeToken('kura-twin', '2222222');
afterAll(() => env.cleanup());

const failure = (p: Promise<unknown>): Promise<HsmConnectionError> =>
  p.then(
    () => expect.fail('expected an HsmConnectionError'),
    (e: unknown) => {
      expect(e).toBeInstanceOf(HsmConnectionError);
      return e as HsmConnectionError;
    },
  );

describe('two tokens with one label', () => {
  const base = { modulePath: env.modulePath, tokenLabel: 'kura-twin' };

  it('refuses to guess which one is meant when no serial number is given (kura hsm add), naming both', async () => {
    const e = await failure(probeHsmToken(base));
    expect(e.code).toBe('CLUSTER_NOT_FOUND');
    expect(e.message).toMatch(/^2 tokens labelled "kura-twin" are present/);
    expect((await failure(connectHsmKeyStore({ ...base, pin: first.pin }))).code).toBe('CLUSTER_NOT_FOUND');
  });

  it('connects each registration to the token with its serial number, whatever the slot order', async () => {
    const serials = /serial numbers ([^)]*)\)/.exec((await failure(probeHsmToken(base))).message)![1]!.split(', ');
    expect(new Set(serials).size).toBe(2);
    // Each PIN opens exactly one of the two serials: the one its token has.
    const opens = async (pin: string) => {
      const outcomes = [];
      for (const serialNumber of serials) {
        const store = await connectHsmKeyStore({ ...base, serialNumber, pin }).catch((e: unknown) => (e as HsmConnectionError).code);
        if (typeof store === 'string') outcomes.push(store);
        else {
          outcomes.push('CONNECTED');
          await store.close();
        }
      }
      return outcomes;
    };
    const firstOpens = await opens(first.pin);
    expect([...firstOpens].sort()).toEqual(['CONNECTED', 'INVALID_CREDENTIALS']);
    expect(await opens(second.pin)).toEqual(firstOpens.reverse());
  });

  it('refuses a serial number no token has, before any login', async () => {
    const e = await failure(connectHsmKeyStore({ ...base, serialNumber: 'feedfacefeedface', pin: first.pin }));
    expect(e.code).toBe('CLUSTER_NOT_FOUND');
    expect(e.message).toMatch(/not feedfacefeedface, the one registered/);
    expect(e.message).toMatch(/did not log in/);
    expect((await failure(probeHsmToken({ ...base, serialNumber: 'feedfacefeedface' }))).code).toBe('CLUSTER_NOT_FOUND');
  });
});

describe('a token found by serial number', () => {
  it('is present only while its slot holds a token with that serial number', async () => {
    const module = await Pkcs11Module.acquire({ modulePath: env.modulePath });
    try {
      const serials = /serial numbers ([^)]*)\)/.exec((await failure(probeHsmToken({ modulePath: env.modulePath, tokenLabel: 'kura-twin' }))).message)![1]!.split(', ');
      const found = await findRegisteredToken(module, 'kura-twin', serials[0]);
      expect(found.token?.serialNumber).toBe(serials[0]);
      expect(await found.token!.present()).toBe(true);
      // The same slot and label, as a reader would show another card put in its place.
      expect(await new Pkcs11Token(module, found.token!.slot, 'kura-twin', serials[1]).present()).toBe(false);
    } finally {
      await module.release();
    }
  });
});

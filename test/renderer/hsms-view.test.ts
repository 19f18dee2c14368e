// @vitest-environment happy-dom
// The HSMs screen's register form: an NSS softokn token needs the library parameters that name its
// database, so the form sends them when given (and only then); the PIN it may carry to check a login
// leaves the field as soon as the form is sent.
import { describe, expect, it } from 'vitest';
import HsmsView from '../../renderer/views/HsmsView.vue';
import { hsmToken, hsmView } from './fixtures.js';
import { fakeClient, mountWith, settle, valueOf } from './support.js';

const NSS = '/usr/lib/x86_64-linux-gnu/libsoftokn3.so';
const PARAMETERS = "configdir='sql:/var/lib/kura/nssdb' certPrefix='' keyPrefix='' secmod='secmod.db' flags=";

function appliance() {
  return fakeClient({
    'hsms.list': () => ({ hsms: [] }),
    'xks.stores.list': () => ({ stores: [] }),
    'devices.list': () => ({ tokens: [], problems: [], checkedAt: '2026-12-06T09:00:00.000Z' }),
    'hsms.add': (i) => ({ applied: true, ...hsmView({ modulePath: String(i.modulePath), tokenLabel: String(i.tokenLabel) }), token: hsmToken({ label: String(i.tokenLabel) }) }),
  });
}

async function register(w: ReturnType<typeof mountWith>, fields: { module: string; label: string; parameters?: string; pin?: string }): Promise<void> {
  await w.get('#hsm-module').setValue(fields.module);
  await w.get('#hsm-label').setValue(fields.label);
  if (fields.parameters !== undefined) await w.get('#hsm-library-parameters').setValue(fields.parameters);
  if (fields.pin !== undefined) await w.get('#hsm-pin').setValue(fields.pin);
  await w.get('form').trigger('submit');
  await settle(w);
}

describe('HsmsView', () => {
  it('registers an NSS softokn token with the library parameters that name its database', async () => {
    const client = appliance();
    const w = mountWith(HsmsView, client);
    await settle(w);
    await register(w, { module: NSS, label: 'NSS Certificate DB', parameters: `  ${PARAMETERS}  `, pin: 'nss-user-pin' });
    expect(client.inputsOf('hsms.add')).toEqual([{ modulePath: NSS, tokenLabel: 'NSS Certificate DB', libraryParameters: PARAMETERS, pin: 'nss-user-pin' }]);
    expect(valueOf(w.get('#hsm-pin'))).toBe('');
    expect(w.text()).toContain(`Registered ${hsmView().hsmId} (NSS Certificate DB).`);
    w.unmount();
  });

  it('sends no library parameters for a module that takes none', async () => {
    const client = appliance();
    const w = mountWith(HsmsView, client);
    await settle(w);
    await register(w, { module: '/usr/lib/softhsm/libsofthsm2.so', label: 'kura', parameters: '   ' });
    expect(client.inputsOf('hsms.add')).toEqual([{ modulePath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'kura' }]);
    w.unmount();
  });

  it('labels the parameters field and points it at its example', () => {
    const w = mountWith(HsmsView, appliance());
    expect(w.get('label[for="hsm-library-parameters"]').text()).toMatch(/NSS library parameters/);
    expect(w.get('#hsm-library-parameters').attributes('aria-describedby')).toBe('hsm-library-parameters-hint');
    expect(w.get('#hsm-library-parameters-hint').text()).toContain('kura hsm add --nss-db DIR');
    w.unmount();
  });
});

// What the operator console shows of a key's state, through its commands (POST /admin/v1/commands/NAME,
// as the browser and the desktop call them): the key list, its state filter and the dashboard's tally
// say what DescribeKey (keys.show's metadata) says, so a key of a custom key store that is not
// connected is Unavailable everywhere the console shows it, never its stored Enabled. The domain's
// own cases (a FAILED store, an external key store, every filter): test/kms/custom-key-store-key-life.test.ts.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AdminDeps } from '../../main/api/admin/routes.js';
import type { DashboardView, KeyDetailView, KeyPageView } from '../../main/console/index.js';
import { adminCaller, openQuorumAdmin } from '../support/custodians.js';
import type { Domain } from '../support/domain.js';
import { FakeHsms } from '../support/fake-hsm.js';
import { trustAnchorPem } from '../support/tokens.js';

const TOKEN = 'test-admin-token';
const PIN = 'kura-pin-3b9e21';

describe("the console's key states", () => {
  let d: Domain;
  let deps: AdminDeps;
  const http = adminCaller(() => deps, TOKEN);
  const ok = async <T>(name: string, input: unknown = {}): Promise<T> => {
    const r = await http('POST', `/commands/${name}`, input);
    expect(r.status, `${name}: ${JSON.stringify(r.body)}`).toBe(200);
    return r.body as T;
  };
  const listed = async (input: Record<string, unknown> = {}) => {
    const page = await ok<KeyPageView>('keys.list', input);
    return { total: page.total, states: Object.fromEntries(page.keys.map((k) => [k.keyId, k.state])) };
  };
  const described = async (keyId: string) => (await ok<KeyDetailView>('keys.show', { keyId })).metadata.KeyState;
  const byState = async () => (await ok<DashboardView>('dashboard')).keys?.byState;

  beforeEach(async () => {
    const hsms = new FakeHsms();
    hsms.addToken('kura-token', PIN, 'serial-1');
    ({ d, deps } = await openQuorumAdmin(TOKEN, { hsmConnector: hsms }));
    deps.consoleAccount = { accountId: '111122223333', region: 'us-east-1' };
  });
  afterEach(() => d.close());

  it('a key of a disconnected custom key store is Unavailable in the list, the state filter and the dashboard, as DescribeKey says', async () => {
    const { hsm } = await d.keys.registerHsm({ operator: 'kura:admin', operation: 'RegisterHsm' }, { modulePath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'kura-token' });
    const storeId = await d.keys.createCustomKeyStore(d.ctx('CreateCustomKeyStore'), { customKeyStoreName: 'hsm', cloudHsmClusterId: hsm.id, trustAnchorCertificate: trustAnchorPem(), keyStorePassword: PIN });
    await d.keys.connectCustomKeyStore(d.ctx('ConnectCustomKeyStore'), storeId);
    const onToken = await d.keys.createKey(d.ctx('CreateKey'), { customKeyStoreId: storeId, origin: 'AWS_CLOUDHSM' });
    const standard = await d.keys.createKey(d.ctx('CreateKey'), {});
    expect(await listed({ state: 'Enabled' })).toEqual({ total: 2, states: { [onToken.keyId]: 'Enabled', [standard.keyId]: 'Enabled' } });

    await d.keys.disconnectCustomKeyStore(d.ctx('DisconnectCustomKeyStore'), storeId);
    expect(await described(onToken.keyId)).toBe('Unavailable');
    expect((await listed()).states).toEqual({ [onToken.keyId]: 'Unavailable', [standard.keyId]: 'Enabled' });
    expect(await listed({ state: 'Unavailable' })).toEqual({ total: 1, states: { [onToken.keyId]: 'Unavailable' } });
    expect(await listed({ state: 'Enabled' })).toEqual({ total: 1, states: { [standard.keyId]: 'Enabled' } });
    expect(await byState()).toEqual({ Enabled: 1, Unavailable: 1 });

    await d.keys.connectCustomKeyStore(d.ctx('ConnectCustomKeyStore'), storeId);
    expect(await described(onToken.keyId)).toBe('Enabled');
    expect(await listed({ state: 'Unavailable' })).toEqual({ total: 0, states: {} });
    expect(await byState()).toEqual({ Enabled: 2 });
  });
});

// @vitest-environment happy-dom
// The HSMs screen's token keys (hsms.tokenKeys): "Token keys" on a registered HSM lists its token's
// secret keys — label, CKA_ID, material ID, and what uses each: a KMS key linked to its page, an XKS
// key by its store and external key ID, a health check key, an orphan, another application's key — with
// the orphan count and the advice on orphans; "Show only orphans" leaves the orphans; a refused listing
// shows the appliance's own message; focus goes to the listing's heading, and back to the button when
// it closes. No value is shown: the view has none, and no input of the screen asks for one.
import { describe, expect, it } from 'vitest';
import type { HsmTokenKeysView } from '../../main/console/index.js';
import HsmsView from '../../renderer/views/HsmsView.vue';
import { EXTERNAL_KEY_ID, HSM_ID, hsmView, KEY_ID, STORE_ID } from './fixtures.js';
import { doc, fakeClient, mountWith, refuse, settle, unnamedControls, type Handlers } from './support.js';

const ORPHAN_LABEL = 'kura-xks-6b1f0e2c-3d4a-4c5b-8e9f-0a1b2c3d4e5f';
const material = (c: string) => c.repeat(64);

function listing(over: Partial<HsmTokenKeysView> = {}): HsmTokenKeysView {
  return {
    customKeyStoreId: 'cks-0123456789abcdef0',
    hsmId: HSM_ID,
    tokenLabel: 'kura',
    sharedWith: [STORE_ID],
    truncated: false,
    keys: [
      { label: `arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`, ckaId: '0a0b0c0d', materialId: material('a'), use: 'kms-key', keyId: KEY_ID },
      { label: EXTERNAL_KEY_ID, ckaId: '1a1b1c1d', materialId: material('b'), use: 'xks-key', xksStoreId: STORE_ID, externalKeyId: EXTERNAL_KEY_ID },
      { label: `kura-xks-health-${STORE_ID}`, ckaId: '2a2b2c2d', materialId: material('c'), use: 'xks-health-check', xksStoreId: STORE_ID },
      { label: ORPHAN_LABEL, ckaId: 'c0ffee0123456789', materialId: material('d'), use: 'orphan' },
      { label: 'backup-app-key', ckaId: '3a3b', materialId: material('e'), use: 'not-kura' },
    ],
    ...over,
  };
}

function appliance(tokenKeys: Handlers['hsms.tokenKeys'] = () => listing()) {
  return fakeClient({
    'hsms.list': () => ({ hsms: [hsmView()] }),
    'xks.stores.list': () => ({ stores: [] }),
    'devices.list': () => ({ tokens: [], problems: [], checkedAt: '2026-12-06T09:00:00.000Z' }),
    'hsms.tokenKeys': tokenKeys,
  });
}

async function open(client = appliance()) {
  const w = mountWith(HsmsView, client);
  await settle(w);
  await w.get('[data-testid="hsm-token-keys"]').trigger('click');
  await settle(w);
  return w;
}

const rows = (w: Awaited<ReturnType<typeof open>>) => w.findAll('[data-testid="token-key"]');

describe('HsmsView: token keys', () => {
  it("lists an HSM's token keys with what uses each, the orphan count and the advice on orphans", async () => {
    const client = appliance();
    const w = await open(client);
    expect(client.inputsOf('hsms.tokenKeys')).toEqual([{ hsmId: HSM_ID }]);
    const section = w.get('[data-testid="token-keys"]');
    expect(section.get('h2').text()).toBe(`Token keys of ${HSM_ID}`);
    expect(w.get('[data-testid="token-keys-orphans"]').text()).toBe('1 orphan');
    expect(w.get('[data-testid="token-keys-summary"]').text()).toContain('5 secret keys');
    expect(w.get('[data-testid="token-keys-summary"]').text()).toContain('cks-0123456789abcdef0');
    expect(section.text()).toContain(`Shared with XKS proxy store ${STORE_ID}`);

    const headers = w.findAll('[data-testid="token-keys-table"] thead th').map((h) => h.text());
    expect(headers).toEqual(['Label', 'CKA_ID', 'Material ID', 'Used by']);
    const cells = rows(w).map((r) => r.findAll('td').map((c) => c.text()));
    expect(cells).toHaveLength(5);
    expect(cells[0]).toEqual([`arn:aws:kms:us-east-1:111122223333:key/${KEY_ID}`, '0a0b0c0d', material('a'), `KMS key ${KEY_ID}`]);
    expect(rows(w)[0]!.get('a').attributes('href')).toBe(`#/keys/${KEY_ID}`);
    expect(cells[1]![3]).toBe(`XKS key ${EXTERNAL_KEY_ID} of store ${STORE_ID}`);
    expect(cells[2]![3]).toBe(`Health check of XKS store ${STORE_ID}`);
    expect(cells[3]!.slice(0, 2)).toEqual([ORPHAN_LABEL, 'c0ffee0123456789']);
    expect(cells[3]![3]).toMatch(/^Orphan/);
    expect(cells[4]![3]).toMatch(/another application's/);

    const help = w.get('[data-testid="token-keys-help"]').text();
    expect(help).toContain('Kura removes nothing from the token');
    expect(help).toContain('DescribeKey on the ARN of its label');
    expect(help).toContain('--delete-object --type secrkey --id CKA_ID');
    expect(unnamedControls(w)).toEqual([]);
    w.unmount();
  });

  it('"Show only orphans" leaves the orphans, and says so when there is none', async () => {
    const w = await open();
    await w.get('[data-testid="token-keys-only-orphans"]').setValue(true);
    expect(rows(w).map((r) => r.attributes('data-use'))).toEqual(['orphan']);
    expect(rows(w)[0]!.text()).toContain(ORPHAN_LABEL);
    // The count is of the whole listing, not of what the filter shows.
    expect(w.get('[data-testid="token-keys-orphans"]').text()).toBe('1 orphan');
    await w.get('[data-testid="token-keys-only-orphans"]').setValue(false);
    expect(rows(w)).toHaveLength(5);
    w.unmount();

    const none = await open(appliance(() => listing({ keys: listing().keys.filter((k) => k.use !== 'orphan') })));
    expect(none.get('[data-testid="token-keys-orphans"]').text()).toBe('0 orphans');
    await none.get('[data-testid="token-keys-only-orphans"]').setValue(true);
    expect(rows(none)).toHaveLength(0);
    expect(none.get('[data-testid="token-keys-empty"]').text()).toBe('No orphan on this token.');
    none.unmount();
  });

  it('says when the token holds more keys than one listing reads', async () => {
    const w = await open(appliance(() => listing({ truncated: true })));
    expect(w.get('[data-testid="token-keys-truncated"]').text()).toBe('The token holds more keys than one listing reads: these are the first.');
    w.unmount();
    const whole = await open();
    expect(whole.find('[data-testid="token-keys-truncated"]').exists()).toBe(false);
    whole.unmount();
  });

  it("shows the appliance's refusal as it came when no login on the token is live", async () => {
    const message = `No login of Kura's to the token "kura" of HSM ${HSM_ID} is live: connect custom key store cks-0123456789abcdef0 (ConnectCustomKeyStore) first.`;
    const w = await open(appliance(() => refuse('InvalidState', message)));
    const section = w.get('[data-testid="token-keys"]');
    expect(section.get('[data-testid="error-code"]').text()).toBe('InvalidState');
    expect(section.get('[data-testid="error-message"]').text()).toBe(message);
    expect(section.get('[data-testid="error"]').text()).toContain("The token's keys could not be listed");
    expect(w.find('[data-testid="token-keys-table"]').exists()).toBe(false);
    w.unmount();
  });

  it('moves focus to the listing, lists again on request, and gives focus back to its button when closed', async () => {
    let calls = 0;
    const w = await open(appliance(() => (++calls === 1 ? listing() : listing({ keys: [], sharedWith: [], customKeyStoreId: null }))));
    expect(doc().activeElement?.id).toBe('token-keys-title');
    await w.get('[data-testid="token-keys-reload"]').trigger('click');
    await settle(w);
    expect(calls).toBe(2);
    expect(w.get('[data-testid="token-keys-empty"]').text()).toBe('No secret key on this token.');
    expect(w.get('[data-testid="token-keys-summary"]').text()).toContain('through the login of an XKS proxy store');
    await w.get('[data-testid="token-keys-close"]').trigger('click');
    await settle(w);
    expect(w.find('[data-testid="token-keys"]').exists()).toBe(false);
    expect(doc().activeElement?.getAttribute('aria-label')).toBe(`Token keys of ${HSM_ID}`);
    w.unmount();
  });
});

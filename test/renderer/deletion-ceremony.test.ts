// @vitest-environment happy-dom
// The deletion ceremony (renderer/views/DeletionCeremonyView.vue) against a fake appliance, in the BYOK
// wizard's step pattern: the key looked up (an unknown one refused with its code and message), the
// waiting period sent, a 202 that becomes the approvals step, an approval uploaded as a signature file
// with the signer named, and the done step showing the key as the deletion left it, with the transcript —
// every step's controls real, named ones.
import type { VueWrapper } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import DeletionCeremonyView from '../../renderer/views/DeletionCeremonyView.vue';
import { approval, KEY_ID, keyDetail, REQUEST_ID } from './fixtures.js';
import { chooseFile, fakeClient, mountWith, refuse, settle, unnamedControls } from './support.js';

const current = (w: VueWrapper) => w.get('[aria-current="step"]').attributes('data-testid');

describe('the deletion ceremony', () => {
  it('key → schedule (a 202) → an uploaded signature runs it → done, PendingDeletion, with the transcript', async () => {
    let deleted = false;
    const client = fakeClient({
      'keys.show': ({ keyId }) => (keyId === 'alias/gone' ? refuse('NotFound', 'Alias alias/gone does not exist.', 404) : keyDetail(deleted ? 'PendingDeletion' : 'Enabled', deleted ? { DeletionDate: 1_900_000_000 } : {})),
      'keys.scheduleDeletion': () => ({ applied: false, approvalRequest: approval({ action: 'kms:ScheduleKeyDeletion', actionClass: 'key-deletion', approvals: [{ operator: 'bob', fingerprint: 'fp', createdAt: '2025-05-01T12:01:00.000Z' }] }) }),
      'approvals.submit': () => {
        deleted = true;
        return approval({ status: 'EXECUTED', action: 'kms:ScheduleKeyDeletion', actionClass: 'key-deletion' });
      },
    });
    const w = mountWith(DeletionCeremonyView, client);
    await settle(w);
    expect(current(w)).toBe('step-key');
    expect(unnamedControls(w)).toEqual([]);

    await w.get('[data-testid="deletion-key"]').setValue('alias/gone');
    await w.get('[data-testid="deletion-choose"]').trigger('click');
    await settle(w);
    expect(w.get('[data-testid="error-code"]').text()).toBe('NotFound');
    expect(w.get('[data-testid="error-message"]').text()).toBe('Alias alias/gone does not exist.');
    expect(current(w)).toBe('step-key');
    expect(unnamedControls(w)).toEqual([]);

    await w.get('[data-testid="deletion-key"]').setValue(KEY_ID);
    await w.get('form').trigger('submit');
    await settle(w);
    expect(current(w)).toBe('step-schedule');
    expect(unnamedControls(w)).toEqual([]);
    await w.get('[data-testid="deletion-days"]').setValue('7');
    // Scheduling is asked first: the button asks, and only "Yes" sends.
    await w.get('[data-testid="deletion-schedule"]').trigger('click');
    expect(client.inputsOf('keys.scheduleDeletion')).toEqual([]);
    expect(w.get('[data-testid="deletion-schedule-question"]').attributes('aria-label')).toBe(`Schedule the deletion of ${KEY_ID} in 7 days?`);
    await w.get('[data-testid="deletion-schedule-confirm"]').trigger('click');
    await settle(w);
    expect(client.inputsOf('keys.scheduleDeletion')).toEqual([{ keyId: KEY_ID, pendingWindowInDays: 7 }]);

    expect(current(w)).toBe('step-approvals');

    expect(unnamedControls(w)).toEqual([]);
    expect(w.get('[data-testid="deletion-request-id"]').text()).toBe(REQUEST_ID);
    expect(w.get('[data-testid="approval-progress"]').text()).toContain('1 of 2 approvals');
    await chooseFile(w.get('[data-testid="approval-signature-file"]'), new File([new Uint8Array(64).fill(7)], 'statement.sig'));
    await w.get('[data-testid="approval-signer"]').setValue('carol');
    await w.get('[data-testid="approval-upload"]').trigger('click');
    await settle(w);
    expect(client.inputsOf('approvals.submit')).toEqual([{ id: REQUEST_ID, signature: Buffer.alloc(64, 7).toString('base64'), operator: 'carol' }]);

    expect(current(w)).toBe('step-done');

    expect(unnamedControls(w)).toEqual([]);
    expect(w.get('[data-testid="deletion-final-state"]').text()).toBe('PendingDeletion');
    expect(w.get('[data-testid="deletion-transcript"]').attributes('href')).toBe(`#/transcripts/${REQUEST_ID}`);
    w.unmount();
  });
});

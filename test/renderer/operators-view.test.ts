// @vitest-environment happy-dom
// Removing a custodian in the console is asked twice (renderer/views/OperatorsView.vue): the row's
// Remove only asks, Keep keeps them, and the question says what follows when it is the operator signed
// in here (their session ends) or the last one enrolled (the console cannot be used until one is).
import { createPinia } from 'pinia';
import { describe, expect, it } from 'vitest';
import OperatorsView from '../../renderer/views/OperatorsView.vue';
import { useSessionStore } from '../../renderer/stores/session.js';
import { fakeClient, mountWith, settle } from './support.js';

const op = (name: string) => ({ name, algorithm: 'ed25519', fingerprint: 'ab12 cd34', hasPassphrase: true, createdAt: '2026-12-06T08:00:00.000Z' });

describe('OperatorsView', () => {
  it('removes a custodian only when asked twice, and says what removing yourself or the last one means', async () => {
    let enrolled = [op('dev')];
    const client = fakeClient({
      'operators.list': () => ({ operators: enrolled }),
      'quorum.show': () => ({ policies: [], classes: ['operators'] }),
      'operators.remove': ({ name }) => {
        enrolled = enrolled.filter((o) => o.name !== name);
        return { applied: true, removed: name };
      },
    });
    const pinia = createPinia();
    const w = mountWith(OperatorsView, client, {}, pinia);
    useSessionStore(pinia).operator = 'dev';
    await settle(w);
    const remove = w.get('[data-testid="operator-remove"]');
    expect(remove.attributes('aria-label')).toBe('Remove dev');
    await remove.trigger('click');
    expect(client.inputsOf('operators.remove')).toEqual([]);
    expect(w.text()).toContain('You are signed in as dev: this session ends.');
    expect(w.text()).toContain('No custodian would be left');
    await w.get('[data-testid="operator-remove-keep"]').trigger('click');
    expect(client.inputsOf('operators.remove')).toEqual([]);
    await w.get('[data-testid="operator-remove"]').trigger('click');
    await w.get('[data-testid="operator-remove-confirm"]').trigger('click');
    await settle(w);
    expect(client.inputsOf('operators.remove')).toEqual([{ name: 'dev' }]);
    // Every row's buttons carry the row in their names, for a screen reader's list of buttons.
    expect(w.findAll('button').filter((b) => b.text() === 'Edit').map((b) => b.attributes('aria-label'))).toEqual(['Edit the operators policy']);
    w.unmount();
  });
});

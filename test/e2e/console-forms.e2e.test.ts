// The console's forms and destructive actions in Chromium, by keyboard, against a real appliance: a
// refused form marks the field the refusal is about (aria-invalid, described by the error) and focus
// goes there, on the operators and credentials screens as on sign-in; a key's deletion and an approval
// request's cancel are asked in place (focus on the safe answer, Escape keeps, "Yes" acts and focus goes
// to what it did); a change, a verification or a refresh whose button was disabled while it ran leaves
// focus on what it did, not on <body>; and the session's 8-hour end is warned of on a page reloaded since sign-in, from what
// the appliance says is left (GET /session's endsInMs), as an end no use extends.
import fs from 'node:fs';
import path from 'node:path';
import { CreateKeyCommand, DescribeKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeConsoleTest, kuraSucceeds, openConsolePage, signInConsole } from '../support/console-page.js';
import { opensslCustodianKey } from '../support/custodians.js';
import { kmsClient } from '../support/kms-client.js';
import { startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';

interface PageGlobals {
  document: { querySelector(selector: string): unknown };
}
const dir = tempDataDir('kura-console-forms-');
const PASSPHRASE = 'alice: a console passphrase';

describe('the console forms and questions in Chromium', () => {
  let kura: KuraProcess;
  let kms: KMSClient;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[] = [];

  const hasFocus = (target: Locator) => target.evaluate((el) => el === el.ownerDocument.activeElement);
  const focusIsOn = async (target: Locator) => {
    await expect.poll(() => hasFocus(target), { timeout: 10_000 }).toBe(true);
  };
  const go = async (hash: string) => {
    await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    await page.waitForFunction(() => !(globalThis as unknown as PageGlobals).document.querySelector('[aria-busy="true"]'));
  };
  /** Checks that `field` is invalid, described by an alert that says `words`, and has focus. */
  const tiedTo = async (field: Locator, words: string) => {
    await focusIsOn(field);
    expect(await field.getAttribute('aria-invalid')).toBe('true');
    const by = ((await field.getAttribute('aria-describedby')) ?? '').split(' ')[0]!;
    const notice = page.locator(`[id="${by}"]`);
    expect(await notice.getAttribute('role')).toBe('alert');
    expect(await notice.textContent()).toContain(words);
  };
  const kuraOk = (...args: string[]) => kuraSucceeds(kura, ...args);

  beforeAll(async () => {
    const alice = opensslCustodianKey(dir, 'alice', '-algorithm', 'ed25519');
    const bob = opensslCustodianKey(dir, 'bob', '-algorithm', 'ed25519');
    kura = await startKura();
    kms = kmsClient(kura);
    for (const [name, k] of [['alice', alice], ['bob', bob]] as const) await kuraOk('operators', 'add', name, '--public-key', k.pub);
    await kuraOk('quorum', 'set', 'key-deletion', '--threshold', '2', '--operators', 'alice,bob');
    fs.writeFileSync(path.join(dir, 'alice.pass'), `${PASSPHRASE}\n`, { mode: 0o600 });
    await kuraOk('operators', 'passphrase', 'alice', '--passphrase-file', path.join(dir, 'alice.pass'));
    ({ browser, page, pageErrors } = await openConsolePage());
    await signInConsole(page, kura.url, 'alice', PASSPHRASE);
  }, 120_000);

  afterAll(() => closeConsoleTest({ browser, kms, kura, dir }));

  it('ties a refused form to its field and puts focus there: enrolling a custodian, creating a credential', async () => {
    await go('#/operators');
    const name = page.getByLabel('Name', { exact: true });
    await name.fill('not a name!');
    await page.getByLabel('Or paste it').fill('-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n');
    await page.getByRole('button', { name: 'Enrol' }).focus();
    await page.keyboard.press('Enter');
    await tiedTo(name, '"name" is an operator name');
    // The other forms on the screen are not marked, and show no error of their own.
    expect(await page.locator('[aria-invalid="true"]').count()).toBe(1);
    expect(await page.getByRole('alert').count()).toBe(1);

    await go('#/credentials');
    await page.getByLabel('Account (12 digits)').fill('111122223333');
    const description = page.getByLabel('Description (optional)');
    await description.fill('x'.repeat(300));
    await page.getByRole('button', { name: 'Create' }).focus();
    await page.keyboard.press('Space');
    await tiedTo(description, '"description" is a description');
    expect(pageErrors).toEqual([]);
  });

  it("asks before scheduling a key's deletion and before cancelling the request it became", async () => {
    const keyId = (await kms.send(new CreateKeyCommand({ Description: 'asked before deleting' }))).KeyMetadata!.KeyId!;
    await go(`#/keys/${keyId}`);
    const schedule = page.getByRole('button', { name: 'Schedule deletion' });
    await schedule.focus();
    await page.keyboard.press('Enter');
    await focusIsOn(page.getByRole('button', { name: 'Keep the key' }));
    expect(await page.getByRole('group', { name: 'Schedule the deletion of this key in 30 days?' }).count()).toBe(1);
    await page.keyboard.press('Escape');
    await focusIsOn(schedule);
    await page.keyboard.press('Enter');
    await page.keyboard.press('Shift+Tab');
    await focusIsOn(page.getByRole('button', { name: 'Yes, schedule the deletion' }));
    await page.keyboard.press('Enter');
    // Gated by the key-deletion policy: focus goes to the request it became.
    await focusIsOn(page.getByTestId('gated'));
    const requestId = (await page.getByTestId('gated-link').textContent())!;
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState).toBe('Enabled');

    await go(`#/approvals/${requestId}`);
    const cancel = page.getByRole('button', { name: 'Cancel the request' });
    await cancel.focus();
    await page.keyboard.press('Enter');
    await focusIsOn(page.getByRole('button', { name: 'Keep the request' }));
    await page.keyboard.press('Escape');
    await focusIsOn(cancel);
    expect(await page.getByTestId('approval-status').textContent()).toBe('PENDING');
    await page.keyboard.press('Space');
    await page.keyboard.press('Shift+Tab');
    await focusIsOn(page.getByRole('button', { name: 'Yes, cancel it' }));
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('approval-status').textContent()).toBe('CANCELLED');
    await focusIsOn(page.getByTestId('approval-notice'));
    expect(pageErrors).toEqual([]);
  });

  it('after an action whose button was disabled while it ran, focus goes to what it did, never to <body>', async () => {
    const nowhere = () => page.evaluate<boolean>('document.activeElement === document.body || document.activeElement === null');
    await go('#/operators');
    await page.locator('#pol-class').selectOption('key-import', { timeout: 5_000 });
    await page.getByRole('checkbox', { name: 'alice' }).check({ timeout: 5_000 });
    await page.locator('#pol-threshold').fill('1', { timeout: 5_000 });
    await page.getByRole('button', { name: 'Set the policy' }).focus({ timeout: 5_000 });
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('change-done').count(), { timeout: 10_000 }).toBe(1);
    await focusIsOn(page.getByTestId('change-done'));
    expect(await page.getByTestId('change-done').textContent()).toContain('key-import: 1 of alice');

    await go('#/audit');
    await page.getByRole('button', { name: 'Verify the chain' }).focus({ timeout: 5_000 });
    await page.keyboard.press('Enter');
    await focusIsOn(page.getByTestId('audit-verified'));

    await go('#/approvals');
    const refresh = page.getByRole('button', { name: 'Refresh' });
    // The screen loads its list as it opens, with the button disabled meanwhile: a disabled button takes
    // no focus, so the press would go nowhere.
    await page.waitForFunction(() => !(globalThis as unknown as PageGlobals).document.querySelector('button[disabled]#approvals-refresh'));
    await refresh.focus({ timeout: 5_000 });
    await page.keyboard.press('Space');
    await page.waitForFunction(() => !(globalThis as unknown as PageGlobals).document.querySelector('button[disabled]#approvals-refresh'));
    await focusIsOn(refresh);
    expect(await nowhere()).toBe(false);
    expect(pageErrors).toEqual([]);
  });

  it('changes your own passphrase: the current one is asked for, the new one twice; this session goes on, the old passphrase no longer signs in', async () => {
    const NEXT = 'alice: the passphrase after this test';
    const signInWith = async (passphrase: string) =>
      (await fetch(`${kura.url}/admin/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ operator: 'alice', passphrase }) })).status;
    await go('#/operators');
    const form = page.getByTestId('own-passphrase');
    expect(await form.textContent()).toContain('Signed in as alice');
    const current = form.getByLabel('Current passphrase');
    const button = form.getByRole('button', { name: 'Change my passphrase' });
    await current.fill('not the current passphrase');
    await form.getByLabel('New passphrase (12 characters at least)').fill(NEXT);
    await form.getByLabel('The new passphrase again').fill(`${NEXT} (typo)`);
    // Why the button waits is said, not only shown by disabling it.
    expect(await page.getByTestId('own-passphrase-wait').textContent()).toBe('The two new passphrases differ.');
    expect(await button.isDisabled()).toBe(true);
    await form.getByLabel('The new passphrase again').fill(NEXT);
    expect(await page.getByTestId('own-passphrase-wait').textContent()).toBe('');
    await button.focus();
    await page.keyboard.press('Enter');
    // A wrong current passphrase is the current field's error, and changes nothing.
    await tiedTo(current, 'current one');
    expect(await signInWith(PASSPHRASE)).toBe(200);

    await current.fill(PASSPHRASE);
    await form.getByLabel('New passphrase (12 characters at least)').fill(NEXT);
    await form.getByLabel('The new passphrase again').fill(NEXT);
    await button.focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('change-done').count(), { timeout: 10_000 }).toBe(1);
    expect(await page.getByTestId('change-done').textContent()).toContain('Your console passphrase is changed');
    // The fields are empty again, and this session still works: another screen loads, no sign-in asked.
    expect(await current.inputValue()).toBe('');
    await go('#/keys');
    await page.getByTestId('keys-table').waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('signed-in-as').textContent()).toContain('alice');
    expect(await signInWith(PASSPHRASE)).toBe(403);
    expect(await signInWith(NEXT)).toBe(200);
    expect(pageErrors).toEqual([]);
  });

  it("warns before the session's 8-hour end on a page reloaded since sign-in, from what the appliance says is left", async () => {
    // A session 7 h 57 min old has 3 minutes left: its answers say so, as the appliance would (what the
    // appliance itself answered for this fresh session is kept, to check it says how long is left).
    let answered: unknown;
    await page.route('**/admin/v1/commands/session.show', async (route) => {
      const answer = await route.fetch();
      const body = (await answer.json()) as Record<string, unknown>;
      answered = body.endsInMs;
      await route.fulfill({ response: answer, json: { ...body, endsInMs: 3 * 60_000 } });
    });
    await page.clock.install();
    await page.reload();
    await go('#/audit');
    await page.getByRole('button', { name: 'Verify the chain' }).focus();
    const warning = page.getByRole('alertdialog', { name: 'Your session is about to end' });
    expect(await warning.count()).toBe(0);
    // Far inside the 15 idle minutes: only the cap can end it, and the warning comes 2 minutes before.
    await page.clock.fastForward('01:01');
    await warning.waitFor();
    // No use extends the cap: the warning says so, and Escape puts it away with focus back where it was.
    const verify = page.getByRole('button', { name: 'Verify the chain' });
    await focusIsOn(warning.getByRole('button', { name: 'Got it' }));
    expect(await warning.textContent()).toContain('8-hour limit');
    expect(await warning.getByRole('button', { name: 'Stay signed in' }).count()).toBe(0);
    expect(await page.getByTestId('session-left').textContent()).toMatch(/^1:5\d$/);
    await page.keyboard.press('Escape');
    await warning.waitFor({ state: 'detached' });
    await focusIsOn(verify);
    // At the end, the sign-in screen says it was the limit.
    await page.clock.fastForward('02:00');
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'ended at its 8-hour limit' }).count()).toBe(1);
    expect(answered).toBeGreaterThan(7.9 * 3600_000);
    expect(answered).toBeLessThanOrEqual(8 * 3600_000);
    await page.unroute('**/admin/v1/commands/session.show');
    expect(pageErrors).toEqual([]);
  });
});

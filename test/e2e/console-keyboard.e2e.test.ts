// The operator console with the keyboard alone and through the accessibility tree, in Chromium: a
// custodian at a ceremony room's bare keyboard signs in (a wrong passphrase first: the error is announced,
// tied to the field, and focus lands there), then runs a whole deletion ceremony — the key, the waiting
// period, her own key file chosen through the file chooser that Enter opens and signed in the page, a
// second custodian's openssl signature uploaded the same way — with no mouse: only `page.keyboard`, and
// after every step an assertion of where focus is (never lost to <body>). Then every screen: each form
// control and button has an accessible name as Chromium computes it (the accessibility tree over CDP),
// the focus ring stands out (3:1 against what surrounds it), and Tab runs through each screen without
// being trapped. And the session-timeout warning: it takes focus, and Enter or Escape extends the session.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CreateKeyCommand, DescribeKeyCommand, type KMSClient } from '@aws-sdk/client-kms';
import type { Browser, FileChooser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeConsoleTest, kuraSucceeds, openConsolePage } from '../support/console-page.js';
import { opensslCustodianKey } from '../support/custodians.js';
import { kmsClient } from '../support/kms-client.js';
import { startKura, tempDataDir, type KuraProcess } from '../support/kura-process.js';

/** The little of the page's globals that functions run in the page use (the type check has no DOM). */
interface PageGlobals {
  document: { querySelector(selector: string): unknown };
}
const dir = tempDataDir('kura-console-keyboard-');
const file = (name: string) => path.join(dir, name);
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
const PASSPHRASE = 'alice: a console passphrase';

/** What has focus: enough to say where it is, or "BODY" when focus was lost. */
const FOCUSED = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return 'BODY';
  return [el.tagName, el.id ? '#' + el.id : '', el.dataset.testid ? '[' + el.dataset.testid + ']' : ''].join('');
})()`;

describe('the console with the keyboard alone', () => {
  let kura: KuraProcess;
  let kms: KMSClient;
  let browser: Browser;
  let page: Page;
  let pageErrors: string[] = [];
  let keyId = '';
  /** Who takes the next file chooser: a listener kept for the whole run, so that interception is on before Enter opens one. */
  let nextChooser: ((c: FileChooser) => void) | null = null;

  const focused = () => page.evaluate<string>(FOCUSED);
  /** Whether `target` has focus. */
  const hasFocus = (target: Locator) => target.evaluate((el) => el === el.ownerDocument.activeElement);
  /**
   * Presses Tab (or Shift+Tab) until `target` has focus, at most `max` times; fails — naming where focus
   * went — when it never does, or when focus falls to <body> on the way (a control that lost it).
   */
  const tabTo = async (target: Locator, max = 60, key: 'Tab' | 'Shift+Tab' = 'Tab') => {
    const path: string[] = [];
    for (let i = 0; i < max; i++) {
      if (await target.count() && (await hasFocus(target))) return;
      await page.keyboard.press(key);
      path.push(await focused());
    }
    expect.fail(`${key} never reached ${String(target)}; it went ${path.join(' → ')}`);
  };
  /** Asserts that focus is on `target` (waiting for the page to settle). */
  const focusIsOn = async (target: Locator) => {
    await expect.poll(() => hasFocus(target), { timeout: 10_000 }).toBe(true);
  };
  const kuraOk = (...args: string[]) => kuraSucceeds(kura, ...args);
  /** Opens the file chooser with the keyboard (Enter on the focused file input) and chooses `name`. */
  const chooseFileByKeyboard = async (input: Locator, name: string) => {
    await tabTo(input);
    const chosen = new Promise<FileChooser>((resolve) => (nextChooser = resolve));
    await page.keyboard.press('Enter');
    await (await chosen).setFiles(file(name));
  };

  beforeAll(async () => {
    const alice = opensslCustodianKey(dir, 'alice', '-algorithm', 'ed25519');
    const bob = opensslCustodianKey(dir, 'bob', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256');
    kura = await startKura();
    kms = kmsClient(kura);
    for (const [name, k] of [['alice', alice], ['bob', bob]] as const) await kuraOk('operators', 'add', name, '--public-key', k.pub);
    await kuraOk('quorum', 'set', 'key-deletion', '--threshold', '2', '--operators', 'alice,bob');
    fs.writeFileSync(file('alice.pass'), `${PASSPHRASE}\n`, { mode: 0o600 });
    await kuraOk('operators', 'passphrase', 'alice', '--passphrase-file', file('alice.pass'));
    keyId = (await kms.send(new CreateKeyCommand({ Description: 'to be deleted by keyboard' }))).KeyMetadata!.KeyId!;

    ({ browser, page, pageErrors } = await openConsolePage());
    page.on('filechooser', (c) => nextChooser?.(c));
    // The listener turns interception on with a round trip; let it land before any Enter opens a chooser.
    await page.goto('about:blank');
  }, 120_000);

  afterAll(() => closeConsoleTest({ browser, kms, kura, dir }));

  it('signs in by keyboard: a refusal is announced, tied to the passphrase field, and focus waits there', async () => {
    await page.goto(`${kura.url}/console/`);
    const operator = page.getByLabel('Operator');
    const passphrase = page.getByLabel('Passphrase', { exact: true });
    await operator.waitFor();
    await page.keyboard.press('Tab');
    await focusIsOn(page.getByRole('link', { name: 'Skip to content' }));
    await page.keyboard.press('Tab');
    await focusIsOn(operator);
    await page.keyboard.type('alice');
    await page.keyboard.press('Tab');
    await focusIsOn(passphrase);
    await page.keyboard.type('not her passphrase');
    // Pressed with Space on the button, which is disabled while the answer comes.
    await page.keyboard.press('Tab');
    await focusIsOn(page.getByRole('button', { name: 'Sign in' }));
    await page.keyboard.press('Space');

    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('AccessDenied');
    // Focus is where the operator types again, and the field says what is wrong with it.
    await focusIsOn(passphrase);
    expect(await passphrase.getAttribute('aria-invalid')).toBe('true');
    const describedBy = (await passphrase.getAttribute('aria-describedby')) ?? '';
    expect(describedBy).not.toBe('');
    expect(await page.locator(`[id="${describedBy.split(' ')[0]}"]`).textContent()).toContain('Not signed in');

    await page.keyboard.type(PASSPHRASE);
    await page.keyboard.press('Enter');
    await focusIsOn(page.getByRole('heading', { level: 1, name: 'Dashboard' }));
  });

  /** The screens, each as a hash; filled in once the ceremony has made a key, a request and a transcript. */
  const screens = () => [
    '#/',
    '#/keys',
    `#/keys/${keyId}`,
    '#/byok',
    '#/ceremonies/deletion',
    '#/ceremonies/key-store',
    '#/approvals',
    `#/approvals/${pendingId}`,
    `#/approvals/${executedId}`,
    '#/audit',
    '#/hsms',
    '#/operators',
    '#/credentials',
    '#/seal',
    `#/transcripts/${executedId}`,
    '#/no/such/screen',
  ];
  let pendingId = '';
  let executedId = '';
  const go = async (hash: string) => {
    await page.evaluate(`location.hash = ${JSON.stringify(hash)}`);
    await page.getByRole('heading', { level: 1 }).waitFor();
    // Let the screen's first calls answer.
    await page.waitForFunction(() => !(globalThis as unknown as PageGlobals).document.querySelector('[aria-busy="true"]'));
    await page.waitForTimeout(150);
  };

  it('runs a deletion ceremony with the keyboard alone, two custodians approving', async () => {
    // The navigation, by Tab from the dashboard's heading backwards… and forwards again.
    await tabTo(page.getByRole('link', { name: 'Deletion ceremony' }), 30, 'Shift+Tab');
    await page.keyboard.press('Enter');
    await focusIsOn(page.getByRole('heading', { level: 1, name: 'Deletion ceremony' }));

    // A key that does not exist, with the Next button (disabled while the step's call runs): the
    // refusal is announced, tied to the field, and focus goes back to the field to correct it.
    const keyField = page.getByLabel('Key ID, key ARN or alias');
    await tabTo(keyField);
    await page.keyboard.type('alias/no-such-key');
    await tabTo(page.getByRole('button', { name: 'Next' }));
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('alert').filter({ hasText: 'step failed' }).textContent()).toContain('NotFound');
    await focusIsOn(keyField);
    expect(await keyField.getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator(`[id="${await keyField.getAttribute('aria-describedby')}"]`).getAttribute('role')).toBe('alert');
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type(keyId);
    await page.keyboard.press('Enter');
    await focusIsOn(page.getByRole('heading', { level: 2, name: 'Schedule the deletion' }));

    await tabTo(page.getByLabel('Waiting period (days, 7–30)'));
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.type('7');
    await tabTo(page.getByRole('button', { name: 'Schedule the deletion' }));
    await page.keyboard.press('Enter');
    // Asked in place: focus is on the safe answer; the one that acts is just before it.
    await focusIsOn(page.getByRole('button', { name: 'Keep the key' }));
    await page.keyboard.press('Shift+Tab');
    await focusIsOn(page.getByRole('button', { name: 'Yes, schedule the deletion' }));
    await page.keyboard.press('Enter');
    await focusIsOn(page.getByRole('heading', { level: 2, name: "Collect the custodians' approvals" }));
    executedId = (await page.getByTestId('deletion-request-id').textContent())!;

    // Alice signs here with her key file: Enter on the file input opens the chooser, Space presses the button.
    await chooseFileByKeyboard(page.getByLabel('Private key file'), 'alice.pem');
    await tabTo(page.getByRole('button', { name: 'Sign and approve' }));
    await page.keyboard.press('Space');
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'approval(s)' }).textContent()).toContain('1 of 2 approval(s)');
    // The button that had focus is disabled now (the key file is emptied): focus went somewhere a
    // screen reader reads and Tab goes on from — the notice that says what happened — not to <body>.
    await focusIsOn(page.getByTestId('approval-notice'));

    // Bob signed the statement off-line; the statement downloads by keyboard, and his signature uploads.
    await tabTo(page.getByRole('button', { name: /Download the statement/ }));
    const [statement] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    await statement.saveAs(file('statement'));
    openssl('dgst', '-sha256', '-sign', file('bob.pem'), '-out', 'statement.sig', 'statement');
    await chooseFileByKeyboard(page.getByLabel('Signature file'), 'statement.sig');
    await tabTo(page.getByLabel(/Signed by/));
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    expect(await page.getByLabel(/Signed by/).inputValue()).toBe('bob');
    await tabTo(page.getByRole('button', { name: 'Upload the signature' }));
    await page.keyboard.press('Enter');

    await focusIsOn(page.getByRole('heading', { level: 2, name: 'Deletion scheduled' }));
    expect(await page.getByTestId('deletion-final-state').textContent()).toBe('PendingDeletion');
    expect((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState).toBe('PendingDeletion');
    await tabTo(page.getByRole('link', { name: 'The ceremony transcript' }));
    await page.keyboard.press('Enter');
    await focusIsOn(page.getByRole('heading', { level: 1, name: /Ceremony transcript/ }));
    expect(pageErrors).toEqual([]);
  });

  it('asks before sealing or removing a custodian with focus on the safe answer; Escape keeps, and focus returns', async () => {
    await go('#/seal');
    const ask = page.getByRole('button', { name: 'Seal the appliance…' });
    await tabTo(ask);
    await page.keyboard.press('Enter');
    // The button that asked is gone; focus is on the answer that changes nothing, inside the question.
    await focusIsOn(page.getByRole('button', { name: 'Keep it unsealed' }));
    expect(await page.getByRole('group', { name: 'Seal the appliance now?' }).count()).toBe(1);
    await page.keyboard.press('Escape');
    await focusIsOn(page.getByRole('button', { name: 'Seal the appliance…' }));
    await page.keyboard.press('Space');
    await focusIsOn(page.getByRole('button', { name: 'Keep it unsealed' }));
    await page.keyboard.press('Enter');
    await focusIsOn(page.getByRole('button', { name: 'Seal the appliance…' }));

    await go('#/operators');
    await tabTo(page.getByRole('button', { name: 'Remove bob' }));
    await page.keyboard.press('Enter');
    const question = page.getByRole('group', { name: 'Remove bob?' });
    await focusIsOn(question.getByRole('button', { name: 'Keep' }));
    await page.keyboard.press('Shift+Tab');
    await focusIsOn(question.getByRole('button', { name: 'Yes, remove' }));
    await page.keyboard.press('Escape');
    await focusIsOn(page.getByRole('button', { name: 'Remove bob' }));
    expect(await question.count()).toBe(0);
  });

  it('names every control on every screen, as Chromium computes names for assistive technology', async () => {
    // A request still pending, so that its panel shows the signing controls.
    const other = (await kms.send(new CreateKeyCommand({ Description: 'a pending deletion' }))).KeyMetadata!.KeyId!;
    await go('#/ceremonies/deletion');
    await page.getByLabel('Key ID, key ARN or alias').fill(other);
    await page.getByLabel('Key ID, key ARN or alias').press('Enter');
    await page.getByRole('button', { name: 'Schedule the deletion' }).press('Enter');
    await page.getByRole('button', { name: 'Yes, schedule the deletion' }).press('Enter');
    pendingId = (await page.getByTestId('deletion-request-id').textContent())!;

    const cdp = await page.context().newCDPSession(page);
    const CONTROLS = new Set(['button', 'link', 'textbox', 'searchbox', 'combobox', 'listbox', 'checkbox', 'radio', 'spinbutton', 'slider', 'switch', 'menuitem', 'tab']);
    const unnamed: string[] = [];
    let checked = 0;
    const check = async (where: string) => {
      const { nodes } = (await cdp.send('Accessibility.getFullAXTree')) as { nodes: { ignored: boolean; role?: { value: string }; name?: { value: string } }[] };
      for (const n of nodes) {
        const role = n.role?.value ?? '';
        if (n.ignored || !CONTROLS.has(role)) continue;
        checked++;
        if (!String(n.name?.value ?? '').trim()) unnamed.push(`${where}: a ${role} without a name`);
      }
    };
    const outline: string[] = [];
    for (const hash of screens()) {
      await go(hash);
      await check(hash);
      outline.push(...(await page.evaluate<string[]>(OUTLINE)).map((p) => `${hash}: ${p}`));
    }
    // The forms that open or change on a screen: the key form, and each key store change's details.
    await go('#/keys');
    await page.getByRole('button', { name: 'Create a key' }).press('Enter');
    await check('#/keys, creating');
    for (const change of ['hsms.add', 'hsms.remove', 'xks.stores.create', 'xks.stores.update', 'xks.stores.delete', 'xks.credentials.create', 'xks.keys.create']) {
      await go('#/ceremonies/key-store');
      const radio = page.getByTestId(`keystore-action-${change}`);
      if (!(await radio.count())) continue;
      await radio.check();
      await page.getByTestId('keystore-next').press('Enter');
      await page.locator('[data-step="details"]').waitFor();
      await check(`#/ceremonies/key-store, ${change}`);
      await page.getByTestId('keystore-back').press('Enter');
    }
    expect(unnamed).toEqual([]);
    expect(checked).toBeGreaterThan(100);
    // One main landmark and one h1 a screen, and headings that go down one level at a time.
    expect(outline).toEqual([]);
  });

  it('shows a focus ring that stands out (3:1) on every control Tab reaches, and Tab runs through every screen and out again', async () => {
    const problems: string[] = [];
    for (const hash of screens()) {
      await go(hash);
      await page.evaluate('window.ringSeen = new WeakSet()');
      // From the top of the page: the skip link, the header, the navigation, then the screen.
      await page.keyboard.press('Tab');
      let reached = 0;
      for (let i = 0; ; i++) {
        const ring = await page.evaluate<{ where: string; again?: boolean; problem?: string | null }>(RING);
        if (ring.again) break;
        if (ring.where !== 'BODY') reached++;
        if (ring.problem) problems.push(`${hash} ${ring.where}: ${ring.problem}`);
        if (i === 200) {
          problems.push(`${hash}: Tab never came back to where it started (a trap?)`);
          break;
        }
        await page.keyboard.press('Tab');
      }
      expect(reached, hash).toBeGreaterThan(13);
    }
    expect(problems).toEqual([]);
  });

  it('warns two minutes before an unused session ends: focus goes to "Stay signed in", Escape extends it and gives focus back; unheeded, it signs out and says why', async () => {
    // The page's clock is Playwright's from here (the session's token survives the reload in the tab).
    await page.clock.install();
    await page.reload();
    await go('#/audit');
    const verify = page.getByRole('button', { name: 'Verify the chain' });
    await tabTo(verify);
    const warning = page.getByRole('alertdialog', { name: 'Your session is about to end' });
    expect(await warning.count()).toBe(0);

    await page.clock.fastForward('13:30');
    await warning.waitFor();
    await focusIsOn(warning.getByRole('button', { name: 'Stay signed in' }));
    expect(await page.getByTestId('session-left').textContent()).toMatch(/^1:[0-5]\d$/);
    await page.keyboard.press('Escape');
    await warning.waitFor({ state: 'detached' });
    await focusIsOn(verify);

    // Extended: as long again from now, so no warning a minute later either…
    await page.clock.fastForward('12:00');
    await page.clock.runFor(2_000);
    expect(await warning.count()).toBe(0);
    // …until it is due again; Enter on "Stay signed in" extends it as well.
    await page.clock.fastForward('01:40');
    await focusIsOn(warning.getByRole('button', { name: 'Stay signed in' }));
    await page.keyboard.press('Enter');
    await warning.waitFor({ state: 'detached' });
    await focusIsOn(verify);

    // Unheeded, the session ends: the sign-in screen, which says why.
    await page.clock.fastForward('13:30');
    await warning.waitFor();
    await page.clock.fastForward('02:00');
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'Your session ended' }).count()).toBe(1);
    await focusIsOn(page.getByRole('heading', { level: 1, name: 'Sign in to Kura' }));
    expect(pageErrors).toEqual([]);
  });
});

/** What is wrong with the page's landmarks and heading outline: one <main>, one <h1>, no level skipped going down. */
const OUTLINE: string = `(() => {
  const problems = [];
  const mains = document.querySelectorAll('main, [role="main"]').length;
  if (mains !== 1) problems.push(mains + ' main landmarks');
  let last = 0;
  let h1s = 0;
  for (const h of document.querySelectorAll('h1, h2, h3, h4, h5, h6')) {
    if (!h.getClientRects().length && !h.closest('.visually-hidden')) continue;
    const level = Number(h.tagName[1]);
    if (level === 1) h1s++;
    if (level > last + 1) problems.push('h' + level + ' "' + h.textContent.trim().slice(0, 40) + '" after h' + last);
    last = level;
  }
  if (h1s !== 1) problems.push(h1s + ' h1 headings');
  return problems;
})()`;

/**
 * The focused element's ring: its outline must be drawn (not none, at least 2px) in a colour of at least
 * 3:1 against the background behind the element (WCAG 1.4.11), found by walking up to the first opaque
 * background. Answers where focus is and what is wrong, if anything.
 */
const RING: string = `(() => {
  const el = document.activeElement;
  if (!el || el === document.body) return { where: 'BODY' };
  if (window.ringSeen.has(el)) return { where: '', again: true };
  window.ringSeen.add(el);
  const where = el.dataset.testid || el.id || (el.tagName + ':' + (el.getAttribute('aria-label') || el.textContent || '').trim().slice(0, 40));
  const rgb = (c) => (c.match(/[\\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const contrast = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return (x + 0.05) / (y + 0.05); };
  const s = getComputedStyle(el);
  if (s.outlineStyle === 'none' || parseFloat(s.outlineWidth) < 2) return { where, problem: 'no outline (' + s.outlineStyle + ' ' + s.outlineWidth + ')' };
  let bg = null;
  for (let p = el.parentElement; p && !bg; p = p.parentElement) {
    const c = rgb(getComputedStyle(p).backgroundColor);
    if (c.length === 3 || (c.length === 4 && c[3] > 0.9)) bg = c.slice(0, 3);
  }
  bg = bg || [255, 255, 255];
  const ratio = contrast(rgb(s.outlineColor).slice(0, 3), bg);
  return { where, problem: ratio < 3 ? 'ring ' + s.outlineColor + ' on rgb(' + bg.join(',') + ') is ' + ratio.toFixed(2) + ':1' : null };
})()`;

// The desktop's command handler (main/desktop/command-ipc.ts) with a fake console that records every
// call: who may send, which commands and inputs reach the appliance, and that the session token is kept
// in the main process — stored at sign-in, used for every command, forgotten at sign-out, never answered.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeEach, describe, expect, it } from 'vitest';
import { COMMAND_CHANNEL, MAX_INPUT_BYTES } from '../../main/desktop/channels.js';
import { registerCommandIpc, type CommandIpc, type ConsoleAnswer } from '../../main/desktop/command-ipc.js';
import { createLogger } from '../../main/common/log.js';
import { FakeIpcMain, FakeWebContents } from './support/fake-electron.js';
import { CONSOLE_PAGE } from '../../main/desktop/console-scheme.js';

const INDEX = path.resolve('/opt/kura/dist/renderer/index.html');
const PAGE = CONSOLE_PAGE;
const SESSION = { operator: 'alice', expiresAt: '2030-01-01T00:15:00.000Z' };

/** A console that records its calls; session.login hands out tok-1, tok-2, … */
function recordingConsole() {
  const calls: { token: string | undefined; command: string; input: unknown }[] = [];
  let issued = 0;
  let loginAnswer: (() => ConsoleAnswer) | undefined;
  return {
    calls,
    answerLoginWith(f: () => ConsoleAnswer) {
      loginAnswer = f;
    },
    async run(token: string | undefined, command: string, input: unknown): Promise<ConsoleAnswer> {
      calls.push({ token, command, input });
      if (command === 'session.login') return loginAnswer?.() ?? { ok: true, status: 200, value: { token: `tok-${++issued}`, ...SESSION } };
      if (command === 'session.logout') return { ok: true, status: 200, value: { signedOut: true } };
      return { ok: true, status: 200, value: { ran: command } };
    },
  };
}

describe('the kura:command handler', () => {
  let ipcMain: FakeIpcMain;
  let contents: FakeWebContents;
  let fake: ReturnType<typeof recordingConsole>;
  let ipc: CommandIpc;
  let logLines: string[];
  /** Invokes the channel as the console page would. */
  const send = (command: unknown, ...input: unknown[]) =>
    ipcMain.invoke(COMMAND_CHANNEL, { sender: contents, frame: contents.mainFrame }, command, ...(input.length > 0 ? input : [{}])) as Promise<ConsoleAnswer>;

  beforeEach(() => {
    ipcMain = new FakeIpcMain();
    contents = new FakeWebContents(PAGE);
    fake = recordingConsole();
    logLines = [];
    ipc = registerCommandIpc({ ipcMain, contents, console: fake, log: createLogger('debug', (l) => logLines.push(l)) });
  });

  it('runs a command from the console page on the console', async () => {
    expect(await send('status', {})).toEqual({ ok: true, status: 200, value: { ran: 'status' } });
    expect(fake.calls).toEqual([{ token: undefined, command: 'status', input: {} }]);
  });

  describe('refuses a sender other than the console page, before the console sees anything', () => {
    it('another window', async () => {
      const other = new FakeWebContents(PAGE);
      const answer = await ipcMain.invoke(COMMAND_CHANNEL, { sender: other, frame: other.mainFrame }, 'status', {});
      expect(answer).toMatchObject({ ok: false, error: { code: 'AccessDenied' } });
    });
    it('a frame inside the console page', async () => {
      const answer = await ipcMain.invoke(COMMAND_CHANNEL, { sender: contents, frame: { url: PAGE, parent: contents.mainFrame } }, 'status', {});
      expect(answer).toMatchObject({ ok: false, error: { code: 'AccessDenied' } });
    });
    it('the window showing another page', async () => {
      for (const url of ['https://example.com/', pathToFileURL(path.resolve('/tmp/index.html')).href, pathToFileURL(INDEX).href, 'kura://console/assets/index.js', 'about:blank']) {
        const answer = await ipcMain.invoke(COMMAND_CHANNEL, { sender: contents, frame: { url, parent: null } }, 'status', {});
        expect(answer, url).toMatchObject({ ok: false, error: { code: 'AccessDenied' } });
      }
    });
    it('a frame that is gone', async () => {
      const answer = await ipcMain.invoke(COMMAND_CHANNEL, { sender: contents, frame: null }, 'status', {});
      expect(answer).toMatchObject({ ok: false, error: { code: 'AccessDenied' } });
    });
    it('(and the console was never called)', async () => {
      const other = new FakeWebContents(PAGE);
      await ipcMain.invoke(COMMAND_CHANNEL, { sender: other, frame: other.mainFrame }, 'session.login', { operator: 'alice', passphrase: 'x'.repeat(12) });
      expect(fake.calls).toEqual([]);
      expect(logLines.join('')).toContain('refused a console command');
    });
  });

  it('refuses a command the contract does not name', async () => {
    for (const command of ['keys.nope', '__proto__', 'constructor', 'toString', '', 'status ', 42, null, { name: 'status' }]) {
      expect(await send(command), String(command)).toMatchObject({ ok: false, error: { code: 'UnknownOperation' } });
    }
    expect(fake.calls).toEqual([]);
  });

  it('refuses an input that is not a JSON object', async () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const input of [null, undefined, 'status', 7, true, [], [{}], cyclic, { n: 10n }]) {
      expect(await send('keys.list', input)).toMatchObject({ ok: false, error: { code: 'Validation' } });
    }
    expect(fake.calls).toEqual([]);
  });

  it('refuses an input over 1 MiB of JSON, and passes one of exactly 1 MiB', async () => {
    const sized = (bytes: number) => ({ search: 'x'.repeat(bytes - JSON.stringify({ search: '' }).length) });
    expect(Buffer.byteLength(JSON.stringify(sized(MAX_INPUT_BYTES)))).toBe(MAX_INPUT_BYTES);
    expect(await send('keys.list', sized(MAX_INPUT_BYTES + 1))).toMatchObject({ ok: false, error: { code: 'RequestTooLarge' } });
    expect(fake.calls).toEqual([]);
    expect(await send('keys.list', sized(MAX_INPUT_BYTES))).toMatchObject({ ok: true });
    expect(fake.calls).toHaveLength(1);
  });

  it('passes the input on as plain JSON, as the admin API would have parsed it', async () => {
    await send('keys.list', { search: 'a', when: new Date(0), gone: undefined });
    expect(fake.calls[0]!.input).toEqual({ search: 'a', when: '1970-01-01T00:00:00.000Z' });
  });

  describe('the session token', () => {
    const login = () => send('session.login', { operator: 'alice', passphrase: 'correct horse battery' });

    it('is kept at sign-in and never answered; every command then runs with it', async () => {
      const answer = await login();
      expect(answer).toEqual({ ok: true, status: 200, value: SESSION });
      expect(fake.calls[0]).toEqual({ token: undefined, command: 'session.login', input: { operator: 'alice', passphrase: 'correct horse battery' } });
      expect(ipc.signedIn()).toBe(true);
      const answers = [answer, await send('keys.list', {}), await send('session.show', {})];
      expect(fake.calls.slice(1).map((c) => [c.command, c.token])).toEqual([
        ['keys.list', 'tok-1'],
        ['session.show', 'tok-1'],
      ]);
      expect(JSON.stringify(answers)).not.toContain('tok-1');
    });

    it('is forgotten at sign-out, which ends the session at the appliance', async () => {
      await login();
      expect(await send('session.logout', {})).toEqual({ ok: true, status: 200, value: { signedOut: true } });
      expect(fake.calls[1]).toEqual({ token: 'tok-1', command: 'session.logout', input: {} });
      expect(ipc.signedIn()).toBe(false);
      await send('keys.list', {});
      expect(fake.calls[2]).toEqual({ token: undefined, command: 'keys.list', input: {} });
    });

    it('a sign-out without a session is answered here', async () => {
      expect(await send('session.logout', {})).toEqual({ ok: true, status: 200, value: { signedOut: true } });
      expect(fake.calls).toEqual([]);
    });

    it('a second sign-in replaces the first and ends it', async () => {
      await login();
      await login();
      expect(fake.calls.map((c) => [c.command, c.token])).toEqual([
        ['session.login', undefined],
        ['session.login', undefined],
        ['session.logout', 'tok-1'],
      ]);
      await send('keys.list', {});
      expect(fake.calls.at(-1)).toMatchObject({ command: 'keys.list', token: 'tok-2' });
    });

    it('a failed sign-in changes nothing', async () => {
      await login();
      fake.answerLoginWith(() => ({ ok: false, error: { code: 'AccessDenied', message: 'Wrong operator or passphrase.' } }));
      expect(await login()).toEqual({ ok: false, error: { code: 'AccessDenied', message: 'Wrong operator or passphrase.' } });
      await send('keys.list', {});
      expect(fake.calls.at(-1)).toMatchObject({ command: 'keys.list', token: 'tok-1' });
    });

    it('a sign-in answered without a token fails closed', async () => {
      fake.answerLoginWith(() => ({ ok: true, status: 200, value: { operator: 'alice' } }));
      expect(await login()).toMatchObject({ ok: false, error: { code: 'Internal' } });
      expect(ipc.signedIn()).toBe(false);
    });

    it('signOut (the window closed) ends the session at the appliance', async () => {
      await login();
      await ipc.signOut();
      expect(fake.calls.at(-1)).toEqual({ token: 'tok-1', command: 'session.logout', input: {} });
      expect(ipc.signedIn()).toBe(false);
      await ipc.signOut();
      expect(fake.calls).toHaveLength(2);
    });

    it('is never logged', async () => {
      await login();
      await send('keys.list', {});
      await send('session.logout', {});
      expect(logLines.join('')).not.toContain('tok-1');
    });
  });

  it('answers a console that throws with an internal error, not a rejection', async () => {
    const throwing = new FakeIpcMain();
    registerCommandIpc({
      ipcMain: throwing,
      contents,
      console: { run: () => Promise.reject(new TypeError('boom: secret-input')) },
      log: createLogger('error', (l) => logLines.push(l)),
    });
    const answer = await throwing.invoke(COMMAND_CHANNEL, { sender: contents, frame: contents.mainFrame }, 'status', {});
    expect(answer).toEqual({ ok: false, error: { code: 'Internal', message: 'An internal error occurred; see the appliance log.' } });
    expect(logLines.join('')).toContain('TypeError');
    expect(logLines.join('')).not.toContain('secret-input');
  });

  it('dispose removes the handler', () => {
    expect(ipcMain.handlers.has(COMMAND_CHANNEL)).toBe(true);
    ipc.dispose();
    expect(ipcMain.handlers.has(COMMAND_CHANNEL)).toBe(false);
  });
});

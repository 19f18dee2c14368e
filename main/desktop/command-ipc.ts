// The main process's side of `window.kura.run`: one ipcMain handler on the `kura:command` channel that
// runs the console's commands (main/console) on the appliance in this process, as the operator signed in
// in the console's window. The renderer is treated as the least trusted part of the app — whatever runs
// in the page, a bug or injected script, reaches the appliance only through here:
//
// - the sender must be the console window's top frame, showing the console's own file (not a frame, not
//   a page it was navigated to, not another window: ./ipc-sender.ts, shared with ./print-ipc.ts);
// - the command must be one the contract names; the input a JSON object of at most 1 MiB, passed on as
//   plain JSON (what the admin API would have parsed), so the contract's parseCommandInput, inside
//   console.run, sees the same values whichever transport they came by;
// - the session token stays here. `session.login` stores it and answers the operator and expiry without
//   it; `session.logout` forgets it and ends the session at the appliance; every other command runs with
//   it. A page that is compromised can run commands while the operator is signed in — as the operator
//   could — but cannot take the session elsewhere. Never log the token.
//
// Refusals and the appliance's own errors are answers ({ok: false, error}), never thrown: a rejected
// invoke would carry Electron's wrapping of the message to the page.
import type { Appliance } from '../app.js';
import type { Logger } from '../common/log.js';
import { isCommandName } from '../console/index.js';
import { COMMAND_CHANNEL, MAX_INPUT_BYTES } from './channels.js';
import type { IpcMain, WebContents } from './electron-api.js';
import { fromConsolePage } from './ipc-sender.js';

/** The appliance's console: what this handler runs commands on. */
export type ConsoleRunner = Appliance['console'];
export type ConsoleAnswer = Awaited<ReturnType<ConsoleRunner['run']>>;

export interface CommandIpc {
  /** Whether the window has a session (tests and the shell; never the token). */
  signedIn(): boolean;
  /** Ends the window's session, here and at the appliance (the window closed). */
  signOut(): Promise<void>;
  /** Removes the handler. */
  dispose(): void;
}

const refuse = (code: string, message: string): ConsoleAnswer => ({ ok: false, error: { code, message } });

/** The input as plain JSON, or the refusal: not an object, not JSON (a cycle, a BigInt), or too large. */
function plainInput(input: unknown): { input: Record<string, unknown> } | { refused: ConsoleAnswer } {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return { refused: refuse('Validation', 'A console command takes a JSON object as its input.') };
  let json: string;
  try {
    json = JSON.stringify(input);
  } catch {
    return { refused: refuse('Validation', "A console command's input must be plain JSON.") };
  }
  if (Buffer.byteLength(json) > MAX_INPUT_BYTES) return { refused: refuse('RequestTooLarge', `A console command's input may be at most ${MAX_INPUT_BYTES} bytes of JSON.`) };
  return { input: JSON.parse(json) as Record<string, unknown> };
}

export function registerCommandIpc(deps: { ipcMain: IpcMain; contents: WebContents; console: ConsoleRunner; log: Logger }): CommandIpc {
  const { log } = deps;
  let sessionToken: string | undefined;

  /** Ends a session at the appliance; its answer is of no use to anyone (it may have expired already). */
  const endSession = async (token: string): Promise<void> => {
    const answer = await deps.console.run(token, 'session.logout', {});
    if (!answer.ok) log.debug('desktop: ending a console session', { code: answer.error.code });
  };

  const login = async (input: Record<string, unknown>): Promise<ConsoleAnswer> => {
    const answer = await deps.console.run(undefined, 'session.login', input);
    if (!answer.ok) return answer;
    const { token, ...rest } = (answer.value ?? {}) as Record<string, unknown>;
    if (typeof token !== 'string' || token === '') {
      log.error('desktop: session.login answered no session token');
      return refuse('Internal', 'An internal error occurred; see the appliance log.');
    }
    // A second sign-in in the same window replaces the first, which ends rather than lingers until it expires.
    const previous = sessionToken;
    sessionToken = token;
    if (previous !== undefined && previous !== token) await endSession(previous);
    return { ...answer, value: rest };
  };

  const logout = async (input: Record<string, unknown>): Promise<ConsoleAnswer> => {
    const token = sessionToken;
    // Forgotten first: whatever the appliance answers, this window is signed out.
    sessionToken = undefined;
    if (token === undefined) return { ok: true, status: 200, value: { signedOut: true } };
    const answer = await deps.console.run(token, 'session.logout', input);
    if (!answer.ok) await endSession(token);
    return answer;
  };

  deps.ipcMain.handle(COMMAND_CHANNEL, async (event, command, input) => {
    if (!fromConsolePage(event, deps.contents)) {
      log.warn('desktop: refused a console command from outside the console page', { sender: event.sender.id });
      return refuse('AccessDenied', "Console commands are taken only from the console's own page.");
    }
    if (typeof command !== 'string' || !isCommandName(command)) {
      return refuse('UnknownOperation', `There is no console command ${typeof command === 'string' ? command.slice(0, 64) : `of type ${typeof command}`}.`);
    }
    const checked = plainInput(input);
    if ('refused' in checked) return checked.refused;
    try {
      if (command === 'session.login') return await login(checked.input);
      if (command === 'session.logout') return await logout(checked.input);
      return await deps.console.run(sessionToken, command, checked.input);
    } catch (e) {
      // console.run answers its errors; this is a bug, logged by its type only (a message may hold input).
      log.error('desktop: console command failed', { command, error: e instanceof Error ? e.name : typeof e });
      return refuse('Internal', 'An internal error occurred; see the appliance log.');
    }
  });

  return {
    signedIn: () => sessionToken !== undefined,
    async signOut() {
      const token = sessionToken;
      sessionToken = undefined;
      if (token !== undefined) await endSession(token);
    },
    dispose: () => deps.ipcMain.removeHandler(COMMAND_CHANNEL),
  };
}

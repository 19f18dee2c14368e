// The HTTP transport: `POST /admin/v1/commands/<name>` with the input as the JSON body and the console
// session's token as `Authorization: Bearer …` (README, "Console sign-in and the admin API"). The token
// comes from `session.login`'s answer and is kept only by this client and the TokenKeeper it is given
// (memory, or the tab's sessionStorage — never localStorage). A gated change answers 202 with
// `{applied: false, approvalRequest}`, which is an answer like any other; a 4xx/5xx answers
// `{error, message}`, turned into a CommandError with that code and message.
import { CLIENT_ERROR, CommandError, type CommandInput, type CommandName, type CommandOutput, type ConsoleClient } from './types.js';

/** Where the session token is kept between calls. */
export interface TokenKeeper {
  get(): string | null;
  set(token: string): void;
  clear(): void;
}

export function memoryTokenKeeper(): TokenKeeper {
  let token: string | null = null;
  return { get: () => token, set: (t) => (token = t), clear: () => (token = null) };
}

export interface HttpClientOptions {
  /** The admin API's base URL, e.g. `http://127.0.0.1:7420/admin/v1` (default: `/admin/v1` of the page's origin). */
  baseUrl?: string;
  tokens?: TokenKeeper;
  /** The fetch to use (tests pass a fake). */
  fetch?: typeof fetch;
}

/** Reads an error answer as `{error, message}`; anything else becomes a BadAnswer naming the status. */
async function errorOf(res: Response, command: string): Promise<CommandError> {
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    body = undefined;
  }
  if (body !== null && typeof body === 'object') {
    const { error, message } = body as { error?: unknown; message?: unknown };
    if (typeof error === 'string' && error !== '') {
      return new CommandError(error, typeof message === 'string' && message !== '' ? message : `${command} failed (HTTP ${res.status}).`, res.status);
    }
  }
  return new CommandError(CLIENT_ERROR.badAnswer, `${command} failed with HTTP ${res.status}, and the answer was not an error Kura sends.`, res.status);
}

export function createHttpClient(options: HttpClientOptions = {}): ConsoleClient {
  const base = (options.baseUrl ?? '/admin/v1').replace(/\/+$/, '');
  const tokens = options.tokens ?? memoryTokenKeeper();
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));

  async function run<C extends CommandName>(command: C, input: CommandInput<C>): Promise<CommandOutput<C>> {
    const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    const token = tokens.get();
    if (token !== null && command !== 'session.login') headers.authorization = `Bearer ${token}`;
    let res: Response;
    try {
      res = await doFetch(`${base}/commands/${command}`, { method: 'POST', headers, body: JSON.stringify(input), credentials: 'omit' });
    } catch {
      throw new CommandError(CLIENT_ERROR.unreachable, `The appliance did not answer ${command}: is Kura running, and is this page served by it?`);
    }
    if (!res.ok) throw await errorOf(res, command);
    let value: unknown;
    try {
      value = await res.json();
    } catch {
      throw new CommandError(CLIENT_ERROR.badAnswer, `The answer to ${command} was not JSON (HTTP ${res.status}).`, res.status);
    }
    if (command === 'session.login') {
      const t = (value as { token?: unknown }).token;
      if (typeof t !== 'string' || t === '') throw new CommandError(CLIENT_ERROR.badAnswer, 'The sign-in answer carried no session token.', res.status);
      tokens.set(t);
    }
    if (command === 'session.logout') tokens.clear();
    return value as CommandOutput<C>;
  }

  return {
    transport: 'http',
    run,
    hasSession: () => tokens.get() !== null,
    forgetSession: () => tokens.clear(),
  };
}

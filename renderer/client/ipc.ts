// The desktop transport: the preload's one object, `window.kura` (its type is main/console/bridge.ts),
// runs a command in the main process and answers `{ok: true, status, value}` or `{ok: false, error:
// {code, message}}`. The main process keeps the session token, so `session.login` answers without one
// and the renderer never holds it. `onNetwork` pushes which non-loopback interfaces are up;
// `printToPdf` prints the page (a transcript) to a PDF the operator saves.
import type { KuraBridge } from '../../main/console/bridge.js';
import type { NetworkStatusView } from '../../main/console/index.js';
import { CLIENT_ERROR, CommandError, type CommandInput, type CommandName, type CommandOutput, type ConsoleClient } from './types.js';

export type { KuraBridge };

/** The bridge as this client relies on it: `run` always; the rest only where the preload gives it. */
export type BridgeLike = Pick<KuraBridge, 'run'> & Partial<Pick<KuraBridge, 'onNetwork' | 'printToPdf'>>;
type BridgeAnswer = Awaited<ReturnType<KuraBridge['run']>>;

/** The preload's object when this page runs in the desktop app (typed without the DOM, for Node tests). */
export function desktopBridge(): BridgeLike | undefined {
  const kura = (globalThis as { kura?: unknown }).kura;
  return kura !== null && typeof kura === 'object' && typeof (kura as BridgeLike).run === 'function' ? (kura as BridgeLike) : undefined;
}

export function createIpcClient(bridge: BridgeLike): ConsoleClient {
  let signedIn = false;
  async function run<C extends CommandName>(command: C, input: CommandInput<C>): Promise<CommandOutput<C>> {
    let answer: BridgeAnswer;
    try {
      answer = (await bridge.run(command, input)) as BridgeAnswer;
    } catch {
      throw new CommandError(CLIENT_ERROR.unreachable, `The desktop app's appliance did not answer ${command}.`);
    }
    if (answer === null || typeof answer !== 'object') throw new CommandError(CLIENT_ERROR.badAnswer, `The answer to ${command} was not one the desktop app sends.`);
    if (!answer.ok) {
      const code = typeof answer.error?.code === 'string' ? answer.error.code : CLIENT_ERROR.badAnswer;
      throw new CommandError(code, typeof answer.error?.message === 'string' ? answer.error.message : `${command} failed.`);
    }
    if (command === 'session.login') signedIn = true;
    if (command === 'session.logout') signedIn = false;
    return answer.value as CommandOutput<C>;
  }
  const onNetwork = bridge.onNetwork
    ? (listener: (s: NetworkStatusView) => void) => {
        const off: unknown = bridge.onNetwork!(listener);
        return typeof off === 'function' ? (off as () => void) : () => undefined;
      }
    : undefined;
  const printToPdf = bridge.printToPdf ? (fileName: string) => bridge.printToPdf!(fileName) : undefined;
  return {
    transport: 'ipc',
    run,
    ...(onNetwork ? { onNetwork } : {}),
    ...(printToPdf ? { printToPdf } : {}),
    hasSession: () => signedIn,
    forgetSession: () => (signedIn = false),
  };
}

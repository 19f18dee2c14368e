// The console's one way to reach the appliance: run a command of the operator command contract
// (main/console) and get its answer. Two transports implement it — HTTP for a browser against
// `kura serve` (./http.ts) and the desktop app's IPC (./ipc.ts) — and ./index.ts picks one.
// Only types come from main/: the renderer never runs appliance code.
//
// This file and the transports use no DOM-only types, so they type-check in Node as well (the
// component tests import them).
import type { PrintToPdfAnswer } from '../../main/console/bridge.js';
import type { CommandInput, CommandName, CommandOutput, NetworkStatusView } from '../../main/console/index.js';

export type { CommandInput, CommandName, CommandOutput };

export interface ConsoleClient {
  readonly transport: 'http' | 'ipc';
  /** Runs one command; resolves with its answer (a gated change answers `{applied: false, approvalRequest}`), rejects with a CommandError. */
  run<C extends CommandName>(command: C, input: CommandInput<C>): Promise<CommandOutput<C>>;
  /**
   * Network status pushed by the transport (the desktop's main process watches the interfaces);
   * undefined where the console must poll `network.status` instead. Returns an unsubscribe function.
   */
  readonly onNetwork?: (listener: (status: NetworkStatusView) => void) => () => void;
  /**
   * Prints the page to a PDF the operator saves (the desktop's main process does it); undefined in a
   * browser, where the console uses the browser's own print (and its "Save as PDF").
   */
  readonly printToPdf?: (fileName: string) => Promise<PrintToPdfAnswer>;
  /** Whether a sign-in is remembered by the transport (HTTP: a token; IPC: the main process's, so unknown until asked). */
  hasSession(): boolean;
  /** Forgets the session on this side (after sign-out, or when the appliance says it has ended). */
  forgetSession(): void;
}

/**
 * A command that failed: the appliance's error code and message as it sent them (`{error, message}`
 * over HTTP, `{code, message}` over IPC), or a code of the console's own when there was no answer.
 */
export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly code: string,
    message: string,
    /** The HTTP status (0 when the request got no answer, or over IPC). */
    readonly status = 0,
  ) {
    super(message);
  }
}

/** Codes the console gives when the appliance's own answer is missing or unreadable. */
export const CLIENT_ERROR = {
  unreachable: 'Unreachable',
  badAnswer: 'BadAnswer',
} as const;

// The type of `window.kura`, the one object the desktop's preload (../desktop/preload.cts) gives the
// console renderer: the operator command contract of main/console, run in the main process over IPC; the
// network status the main process watches; and printing the page (a ceremony transcript) to a PDF the
// operator saves. Types only, beside the contract, so that the renderer (which may import from main/
// only the types of main/console) uses it as is; the renderer declares `interface Window { kura?:
// KuraBridge }` itself (main/ is compiled without the DOM library).
//
// The renderer never holds the session token: the main process keeps it for the window, so
// `session.login` answers the operator and expiry without it (DesktopOutput below).
import type { CommandInput, CommandName, CommandOutput } from './commands.js';
import type { NetworkStatusView } from './views.js';

/** How a console command ended, for a transport that is not HTTP (what the appliance answers the desktop's main process). */
export type ConsoleAnswer = { ok: true; status: 200 | 202; value: unknown } | { ok: false; error: { code: string; message: string } };

/** What a command answers through the desktop: the contract's output, `session.login`'s without its token. */
export type DesktopOutput<C extends CommandName> = C extends 'session.login' ? Omit<CommandOutput<C>, 'token'> : CommandOutput<C>;

/** A command's answer: its value (202: an approval request was made instead), or an error with its code. */
export type KuraAnswer<C extends CommandName> =
  | { ok: true; status: 200 | 202; value: DesktopOutput<C> }
  | { ok: false; error: { code: string; message: string } };

/**
 * How printing to PDF ended: the path the PDF was saved at, `null` when the operator cancelled the save
 * dialog, or an error with its code (AccessDenied, Validation, Busy, PrintFailed, SaveFailed).
 */
export type PrintToPdfAnswer = { saved: string | null } | { error: { code: string; message: string } };

export interface KuraBridge {
  /** Runs a console command as the operator signed in in this window. */
  run<C extends CommandName>(command: C, input: CommandInput<C>): Promise<KuraAnswer<C>>;
  /** Calls `listener` with each network status the main process pushes; returns the unsubscribe. */
  onNetwork(listener: (status: NetworkStatusView) => void): () => void;
  /**
   * Prints the page as it shows now (its print styles apply: A4, backgrounds printed) to a PDF, and asks
   * the operator where to save it, suggesting `fileName` (reduced to a safe base name ending in .pdf) in
   * their Documents folder. The main process answers failures ({error}) rather than rejecting.
   */
  printToPdf(fileName: string): Promise<PrintToPdfAnswer>;
  /** Tells the console it runs in the desktop app (a browser has no `window.kura`). */
  readonly platform: 'desktop';
}

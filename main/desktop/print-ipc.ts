// The main process's side of `window.kura.printToPdf`: one ipcMain handler on the `kura:print-pdf`
// channel that prints the console's page as it shows now — a ceremony transcript, laid out by the
// renderer's print styles — to a PDF, and saves it where the operator says (issue 14: "printable ceremony
// transcripts"). The page names the file; the operator, in the platform's save dialog, picks where it
// goes. The renderer never gets to write anywhere by itself:
//
// - the sender must be the console window's top frame, showing the console's own file (./ipc-sender.ts,
//   the rule of ./command-ipc.ts);
// - the suggested name must be a string of 1 to 128 characters, and is reduced to a safe base name
//   (pdfFileName below); only the dialog's answer is ever written to;
// - the PDF is written with mode 0600 to a new file beside the chosen one, then renamed over it: a
//   transcript names keys and custodians, so it is the operator's alone whatever file it replaces, and
//   the chosen path never holds half a PDF. The dialog asks before it returns an existing file (on Linux
//   only because `showOverwriteConfirmation` is given), so a file is replaced only when the operator said so;
// - one print at a time: a second request while the dialog is open is refused, not queued.
//
// Every outcome is an answer ({saved} or {error}), never a rejection: a rejected invoke would carry
// Electron's wrapping of the message to the page, and nothing here may bring the main process down.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../common/log.js';
import type { PrintToPdfAnswer } from '../console/bridge.js';
import { MAX_PDF_NAME_CHARS, PRINT_CHANNEL } from './channels.js';
import type { App, BrowserWindow, Dialog, IpcMain, PrintToPdfOptions } from './electron-api.js';
import { fromConsolePage } from './ipc-sender.js';

export type { PrintToPdfAnswer };

/** A4 with 15 mm margins (in inches, as Electron takes them), backgrounds printed: the status colours are backgrounds. */
export const PDF_OPTIONS: PrintToPdfOptions = {
  printBackground: true,
  pageSize: 'A4',
  margins: { top: 0.59, bottom: 0.59, left: 0.59, right: 0.59 },
};

export interface PrintIpc {
  /** Removes the handler. */
  dispose(): void;
}

const refuse = (code: string, message: string): PrintToPdfAnswer => ({ error: { code, message } });

/** Names Windows keeps for devices, whatever extension follows: `CON.pdf` is not a file there. */
const WINDOWS_DEVICE = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;

/**
 * The safe base name for a suggested `fileName`, or undefined when nothing usable is left:
 * 1. control, format and unassigned characters (Unicode category C: NUL, newlines, bidi overrides, lone
 *    surrogates, …) and line and paragraph separators are removed;
 * 2. only what follows the last `/` or `\` is kept (a trailing separator is ignored);
 * 3. the characters Windows refuses in a name (`< > : " | ? *`) become `_`;
 * 4. one `.pdf` at the end, in any case, then leading dots and spaces (no hidden file, no `..`) and
 *    trailing ones are removed; a Windows device name gets a leading `_`;
 * 5. `.pdf` is added.
 * So `../../etc/passwd` → `passwd.pdf`, `.hidden` → `hidden.pdf`, `a/b\c` → `c.pdf`, `Ceremony.PDF` → `Ceremony.pdf`.
 */
export function pdfFileName(fileName: string): string | undefined {
  const visible = fileName.replace(/[\p{C}\p{Zl}\p{Zp}]/gu, '');
  const base = visible.split(/[/\\]/).filter((part) => part.trim() !== '').at(-1) ?? '';
  let stem = base
    .replace(/[<>:"|?*]/g, '_')
    .replace(/[.\s]+$/u, '')
    .replace(/\.pdf$/i, '')
    .replace(/^[.\s]+|[.\s]+$/gu, '');
  if (stem === '') return undefined;
  if (WINDOWS_DEVICE.test(stem.split('.')[0]!)) stem = `_${stem}`;
  return `${stem}.pdf`;
}

/** The error's code (errno) or type, for the log and the answer: never its message, which may hold a path or more. */
const errorKind = (e: unknown): string => (e as NodeJS.ErrnoException | undefined)?.code ?? (e instanceof Error ? e.name : typeof e);

/** Writes `bytes` to `file` with mode 0600, by a new file in the same directory renamed over it. */
async function writePrivately(file: string, bytes: Uint8Array): Promise<void> {
  // A short name of its own: the chosen name plus a suffix could pass the file system's name limit.
  const temp = path.join(path.dirname(file), `.kura-pdf-${randomBytes(8).toString('hex')}.tmp`);
  try {
    const handle = await fs.open(temp, 'wx', 0o600);
    try {
      await handle.writeFile(bytes);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(temp, file);
  } catch (e) {
    await fs.rm(temp, { force: true }).catch(() => undefined);
    throw e;
  }
}

export function registerPrintIpc(deps: {
  ipcMain: IpcMain;
  /** The console's window: the page printed, and the save dialog's parent. */
  win: BrowserWindow;
  dialog: Pick<Dialog, 'showSaveDialog'>;
  app: Pick<App, 'getPath'>;
  log: Logger;
}): PrintIpc {
  const { win, log } = deps;
  let printing = false;

  /** Where the dialog starts: the user's Documents folder, else their home. */
  const startDir = (): string => {
    try {
      return deps.app.getPath('documents');
    } catch {
      return deps.app.getPath('home');
    }
  };

  const printAndSave = async (name: string): Promise<PrintToPdfAnswer> => {
    let pdf: Uint8Array;
    try {
      // Printed before the dialog opens: the PDF is the page the operator asked to print.
      pdf = await win.webContents.printToPDF(PDF_OPTIONS);
    } catch (e) {
      log.error('desktop: printing the console page to PDF failed', { error: errorKind(e) });
      return refuse('PrintFailed', 'The page could not be printed to PDF.');
    }
    const choice = await deps.dialog.showSaveDialog(win, {
      title: 'Save the transcript as PDF',
      defaultPath: path.join(startDir(), name),
      filters: [{ name: 'PDF', extensions: ['pdf'] }],
      properties: ['showOverwriteConfirmation', 'createDirectory'],
    });
    if (choice.canceled || !choice.filePath) return { saved: null };
    // Exactly the path the operator confirmed: adding `.pdf` here could replace a file the dialog never asked about.
    const file = choice.filePath;
    if (!path.isAbsolute(file)) return refuse('SaveFailed', 'The save dialog answered a path that is not absolute.');
    try {
      await writePrivately(file, pdf);
    } catch (e) {
      const kind = errorKind(e);
      log.warn('desktop: saving a PDF failed', { error: kind });
      return refuse('SaveFailed', `The PDF could not be saved to ${file} (${kind}).`);
    }
    log.info('desktop: saved a PDF', { bytes: pdf.byteLength });
    return { saved: file };
  };

  deps.ipcMain.handle(PRINT_CHANNEL, async (event, fileName) => {
    if (!fromConsolePage(event, win.webContents)) {
      log.warn('desktop: refused a print from outside the console page', { sender: event.sender.id });
      return refuse('AccessDenied', "Printing is taken only from the console's own page.");
    }
    const chars = typeof fileName === 'string' ? [...fileName].length : 0;
    if (typeof fileName !== 'string' || chars < 1 || chars > MAX_PDF_NAME_CHARS) {
      return refuse('Validation', `A PDF's file name must be a string of 1 to ${MAX_PDF_NAME_CHARS} characters.`);
    }
    const name = pdfFileName(fileName);
    if (name === undefined) return refuse('Validation', 'The file name has nothing a file name can keep (only dots, separators or control characters).');
    if (printing) return refuse('Busy', 'A PDF is being printed already; finish or cancel its save dialog first.');
    printing = true;
    try {
      return await printAndSave(name);
    } catch (e) {
      // The dialog or the window failed under us (the window closed, say): answered, logged by type only.
      log.error('desktop: printing to PDF failed', { error: errorKind(e) });
      return refuse('SaveFailed', 'The PDF could not be saved; see the appliance log.');
    } finally {
      printing = false;
    }
  });

  return { dispose: () => deps.ipcMain.removeHandler(PRINT_CHANNEL) };
}

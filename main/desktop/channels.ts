// The desktop's IPC contract between the main process and the preload: three channel names and the
// bounds on what the renderer may send. ./preload.cts repeats the names as literals — a sandboxed
// preload cannot load a second file — and test/desktop/preload.test.ts checks that they agree.

/** renderer → main (ipcMain.handle): `(command: string, input: object)`, answered with a ConsoleAnswer. */
export const COMMAND_CHANNEL = 'kura:command';

/** main → renderer (webContents.send): the network status, whenever it changes and after each load. */
export const NETWORK_CHANNEL = 'kura:network';

/** renderer → main (ipcMain.handle): `(fileName: string)`, answered with a PrintToPdfAnswer (./print-ipc.ts). */
export const PRINT_CHANNEL = 'kura:print-pdf';

/** An input larger than this, as JSON, is refused before the contract reads it (the admin API's body limit). */
export const MAX_INPUT_BYTES = 1024 * 1024;

/** The most characters (code points) a PDF's suggested file name may have; longer ones are refused, not cut. */
export const MAX_PDF_NAME_CHARS = 128;

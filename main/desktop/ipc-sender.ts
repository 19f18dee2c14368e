// Who may talk to the main process: the one rule every ipcMain handler of the desktop (./command-ipc.ts,
// ./print-ipc.ts) applies before it reads anything else of a message. The sender must be the console
// window's top frame, showing the console's own page — not a frame inside it, not a page it was navigated
// to, not another window, not a frame that is gone. Kept in one place so that the channels cannot drift.
import { isConsolePage } from './console-window.js';
import type { IpcInvokeEvent, WebContents } from './electron-api.js';

/** Whether `event` was sent by `contents`' top frame while it shows the console's page. */
export function fromConsolePage(event: IpcInvokeEvent, contents: WebContents): boolean {
  const frame = event.senderFrame;
  return event.sender.id === contents.id && frame !== null && frame.parent === null && isConsolePage(frame.url);
}

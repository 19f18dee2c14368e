// What the desktop app asks of Chromium for the whole process, before Electron is ready, beyond what
// each window and session is told (./console-window.ts; the switches it refuses are ./config.ts's):
//
// - No proxy: the console talks to nothing but its own kura:// origin, so a proxy has nothing to carry —
//   and with the system's proxy settings Chromium may fetch a PAC script (WPAD) from the network at start,
//   a request the offline appliance never asked for. (It does not hold WebRTC in: with no proxy, the
//   WebRTC policy of ./console-window.ts still lets TCP to a TURN server go direct.)
// - The application menu: Electron's default one has a Help menu of links to electronjs.org (opened in
//   the system browser) and View items for devtools. On Linux and Windows Kura has none (copy and paste
//   in fields work without one there); macOS needs one for its application, edit and window commands
//   (Cmd-Q, Cmd-C, Cmd-V), so it gets those three roles and nothing else.
import type { CommandLine, MenuItemTemplate } from './electron-api.js';

/** The switches the app adds to its own command line before ready. */
export function applySwitches(commandLine: Pick<CommandLine, 'appendSwitch'>): void {
  commandLine.appendSwitch('no-proxy-server');
}

/** The application menu's template on `platform`; null: no menu at all. */
export function applicationMenuTemplate(platform: NodeJS.Platform): MenuItemTemplate[] | null {
  return platform === 'darwin' ? [{ role: 'appMenu' }, { role: 'editMenu' }, { role: 'windowMenu' }] : null;
}

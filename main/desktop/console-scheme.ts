// The console's own origin in the desktop app: kura://console/. The window loads
// kura://console/index.html, served from dist/renderer by the same lookup as the headless /console/
// route (main/console/files.ts), instead of a file:// URL.
//
// Why not file://: a file:// page shares its origin with every file on the machine, and Electron gives
// file:// pages extra privileges (the GrantFileProtocolExtraPrivileges fuse, on unless flipped), so a
// script injected into the console could read files the user can — the admin token, the dev root key,
// a PIN file. On kura://console nothing outside the console's built files can be named (the lookup
// knows only those), the page is its own origin, and the fuse is turned off in packaged builds
// (electron-builder.yml).
//
// The scheme is registered before the app is ready as standard (relative URLs and a real origin), secure
// (a secure context: the clipboard write of the BYOK wizard needs one) and fetch-capable (module scripts
// are fetched). It is NOT registered corsEnabled: that privilege would let other origins read it.
// The handler is installed on the console window's session only (its partition); no other session
// knows the scheme.
import path from 'node:path';
import { consoleFiles, consoleText, type ConsoleAnswer } from '../console/files.js';
import type { CustomScheme } from './electron-api.js';

export const CONSOLE_SCHEME = 'kura';
export const CONSOLE_HOST = 'console';
/** The URL the console window loads. */
export const CONSOLE_PAGE = `${CONSOLE_SCHEME}://${CONSOLE_HOST}/index.html`;

/** What protocol.registerSchemesAsPrivileged is given, once, before the app is ready. */
export const CONSOLE_SCHEME_PRIVILEGES: CustomScheme = {
  scheme: CONSOLE_SCHEME,
  privileges: { standard: true, secure: true, supportFetchAPI: true },
};

/**
 * The scheme's handler over the console's files in `rendererDir` (dist/renderer): GET and HEAD of a file
 * the build wrote, under the host `console`; anything else is a plain-text refusal with the console's
 * headers. Never throws: a request it cannot parse is a 400.
 */
export function consoleSchemeHandler(rendererDir: string): (request: Request) => Response {
  const answer = consoleFiles(path.resolve(rendererDir));
  return (request) => {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      const bad = consoleText(400, 'Not a URL.');
      return new Response(bad.body, { status: bad.status, headers: bad.headers });
    }
    const found: ConsoleAnswer =
      url.protocol === `${CONSOLE_SCHEME}:` && url.host === CONSOLE_HOST
        ? answer(request.method, url.pathname.slice(1))
        : consoleText(404, 'No such file in the console.');
    return new Response(request.method === 'HEAD' ? null : found.body, { status: found.status, headers: found.headers });
  };
}

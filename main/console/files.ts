// The operator console's built files (renderer/, built by `npm run build` into dist/renderer), as both
// of its hosts serve them: the headless appliance's GET /console/… (api/console.ts) and the desktop
// app's kura://console/… scheme (main/desktop/console-scheme.ts). One lookup, so that the two cannot
// drift in what they will hand out or in the headers that keep the page a page.
//
// A path is looked up among the files the build wrote (read once, on first use), so nothing outside
// dist/renderer can be named, whatever the path says (`..`, encodings, symlinks). Every answer carries
// the console's Content-Security-Policy, refuses framing and sniffing, and sends no referrer. Hashed
// assets are immutable; index.html is never cached, so a new build is seen at once.
// Not exported from ./index.ts: the renderer imports that module's types, and this one reads files.
import fs from 'node:fs';
import path from 'node:path';
import { CONSOLE_CSP } from './csp.js';

export const CONSOLE_SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), usb=(), hid=(), serial=(), bluetooth=(), payment=()',
};

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

interface ConsoleFile {
  type: string;
  body: Buffer;
  immutable: boolean;
}

/** What a host sends back: its status, headers (lower-case names) and body (empty for HEAD). */
export interface ConsoleAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer | string;
}

/** Every regular file under `dir`, by its path below the console's root ('' is index.html). */
function readTree(dir: string): Map<string, ConsoleFile> {
  const files = new Map<string, ConsoleFile>();
  const walk = (at: string, prefix: string) => {
    for (const entry of fs.readdirSync(at, { withFileTypes: true })) {
      const full = path.join(at, entry.name);
      const rel = `${prefix}${entry.name}`;
      if (entry.isDirectory()) walk(full, `${rel}/`);
      else if (entry.isFile()) {
        const type = TYPES[path.extname(entry.name).toLowerCase()] ?? 'application/octet-stream';
        files.set(rel, { type, body: fs.readFileSync(full), immutable: rel.startsWith('assets/') });
      }
    }
  };
  walk(dir, '');
  const index = files.get('index.html');
  if (index) files.set('', index);
  return files;
}

/** A plain-text answer with the console's headers: for refusals and errors. */
export function consoleText(status: number, message: string, extra: Record<string, string> = {}): ConsoleAnswer {
  return {
    status,
    headers: { ...CONSOLE_SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra },
    body: message,
  };
}

/**
 * The console's files in `dir` (dist/renderer), answered by method and by the still percent-encoded path
 * below the console's root (`assets/index-….js`; '' for the page itself).
 */
export function consoleFiles(dir: string): (method: string, encodedPath: string) => ConsoleAnswer {
  let files: Map<string, ConsoleFile> | undefined;
  return (method, encodedPath) => {
    if (method !== 'GET' && method !== 'HEAD') return consoleText(405, 'The console takes GET.', { allow: 'GET, HEAD' });
    if (!files) {
      if (!fs.existsSync(path.join(dir, 'index.html'))) {
        return consoleText(503, `The operator console is not built (${path.join(dir, 'index.html')} is missing): run \`npm run build\`.`);
      }
      files = readTree(dir);
    }
    let rel: string;
    try {
      rel = decodeURIComponent(encodedPath);
    } catch {
      return consoleText(400, 'The path is not valid percent-encoding.');
    }
    const file = files.get(rel);
    if (!file) return consoleText(404, 'No such file in the console.');
    return {
      status: 200,
      headers: { ...CONSOLE_SECURITY_HEADERS, 'content-type': file.type, 'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache' },
      body: method === 'HEAD' ? '' : file.body,
    };
  };
}

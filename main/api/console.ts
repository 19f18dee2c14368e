// GET /console/…: the operator console's built files (renderer/, built by `npm run build` into
// dist/renderer), for a browser against a headless appliance. The desktop app loads the same files
// from disk instead.
//
// Every answer carries a strict Content-Security-Policy (no inline script, no eval, no other origin;
// the console talks only to /admin/v1 on this same origin), refuses framing, and sends no referrer.
// Only GET and HEAD; a path is looked up among the files the build wrote (read once, on first use), so
// nothing outside dist/renderer can be named, whatever the path says (`..`, encodings, symlinks).
// Hashed assets are immutable; index.html is never cached, so a new build is seen at once.
import fs from 'node:fs';
import path from 'node:path';
import { CONSOLE_CSP } from '../console/index.js';
import type { RawRequest, RawResponse } from './http.js';

export { CONSOLE_CSP };

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'permissions-policy': 'camera=(), microphone=(), geolocation=(), usb=(), hid=(), serial=(), payment=()',
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

/** Every regular file under `dir`, by its URL path below /console/ ('' is index.html). */
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

const text = (status: number, message: string, extra: Record<string, string> = {}): RawResponse => ({
  status,
  headers: { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store', ...extra },
  body: message,
});

/** The console's route over the files in `dir` (dist/renderer). */
export function consoleRoute(dir: string): (req: RawRequest) => Promise<RawResponse> {
  let files: Map<string, ConsoleFile> | undefined;
  return async (req) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return text(405, 'The console takes GET.', { allow: 'GET, HEAD' });
    if (req.path === '/console') return text(301, 'The console is at /console/.', { location: '/console/' });
    if (!files) {
      if (!fs.existsSync(path.join(dir, 'index.html'))) {
        return text(503, `The operator console is not built (${path.join(dir, 'index.html')} is missing): run \`npm run build\`.`);
      }
      files = readTree(dir);
    }
    let rel: string;
    try {
      rel = decodeURIComponent(req.path.slice('/console/'.length));
    } catch {
      return text(400, 'The path is not valid percent-encoding.');
    }
    const file = files.get(rel);
    if (!file) return text(404, 'No such file in the console.');
    return {
      status: 200,
      headers: { ...SECURITY_HEADERS, 'content-type': file.type, 'cache-control': file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache' },
      body: req.method === 'HEAD' ? '' : file.body,
    };
  };
}

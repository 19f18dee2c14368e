// What keeps a web page elsewhere from using a browser on the operator's machine against the loopback
// admin API and console. Loopback is not a boundary a browser respects: any page can make it send
// requests to 127.0.0.1, and a DNS-rebinding page can even read the answers, as its own origin.
//
// - Host: the admin API and the console answer only under a loopback name or the address Kura listens
//   on. A rebinding page's requests carry its own host name and are refused (421).
// - Origin and Sec-Fetch-Site: an admin request a browser sends from a page of another origin — a
//   "simple" cross-site POST needs no CORS preflight, so it would reach the handler — is refused (403).
//   The kura CLI and scripts send neither header. Bearer tokens (never cookies) mean a browser never
//   adds a credential by itself; this keeps a page from even trying passphrases (and locking operators out).
import type { RawRequest, RawResponse } from './http.js';

const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

/** The host name of a Host header value, without its port or IPv6 brackets; undefined if it has none. */
function hostnameOf(host: string | undefined): string | undefined {
  if (!host) return undefined;
  const m = /^\[([0-9a-fA-F:.]+)\](?::\d+)?$/.exec(host) ?? /^([^:[\]]+)(?::\d+)?$/.exec(host);
  return m?.[1]?.toLowerCase();
}

const refuse = (status: number, message: string): RawResponse => ({
  status,
  headers: { 'content-type': 'application/json', 'cache-control': 'no-store' },
  body: JSON.stringify({ error: 'AccessDenied', message }),
});

/**
 * Undefined when the request may go on; otherwise the refusal. `listenHost` is the address the
 * listener is bound to (a non-loopback one is allowed under its own name).
 */
export function browserGuard(req: RawRequest, listenHost: string, opts: { checkOrigin: boolean }): RawResponse | undefined {
  const host = typeof req.headers.host === 'string' ? req.headers.host : undefined;
  const name = hostnameOf(host);
  const allowed = name !== undefined && (LOOPBACK_NAMES.has(name) || (name === listenHost.toLowerCase() && listenHost !== '0.0.0.0' && listenHost !== '::'));
  if (!allowed) return refuse(421, `Kura answers its admin API and console only as localhost or ${listenHost}, not as "${(host ?? '').slice(0, 64)}".`);
  if (!opts.checkOrigin) return undefined;
  const site = req.headers['sec-fetch-site'];
  if (site === 'cross-site' || site === 'same-site') return refuse(403, 'The admin API does not take requests from pages of other origins.');
  const origin = req.headers.origin;
  if (typeof origin === 'string') {
    let originHost: string | undefined;
    try {
      originHost = new URL(origin).host;
    } catch {
      originHost = undefined;
    }
    if (originHost !== host) return refuse(403, 'The admin API does not take requests from pages of other origins.');
  }
  return undefined;
}

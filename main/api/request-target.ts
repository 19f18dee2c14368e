// The request-target of an HTTP/1.1 request (RFC 9112 §3.2), split into path and query by hand.
// `new URL(target, base)` throws on targets a client may legally or illegally send (`//a:99999`,
// `http://[/`, `//a%zz`), and a throw there once stopped the appliance; this never throws. Paths are
// compared as sent: Kura's routes are fixed strings, so nothing needs percent-decoding.

export interface RequestTarget {
  path: string;
  query: string;
}

/** The route family a path belongs to: errors are answered in that protocol's shape. */
export type RouteFamily = 'kms' | 'admin' | 'xks' | 'console' | 'other';

const ABSOLUTE_FORM = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i;

/** Origin-form (`/p?q`) or absolute-form (`http://h/p?q`); anything else (`*`, `abc`) is undefined. */
export function splitRequestTarget(target: string): RequestTarget | undefined {
  let rest = target;
  const absolute = ABSOLUTE_FORM.exec(rest);
  if (absolute) {
    rest = rest.slice(absolute[0].length);
    if (rest === '' || rest.startsWith('?')) rest = `/${rest}`;
  }
  if (!rest.startsWith('/')) return undefined;
  const hash = rest.indexOf('#');
  if (hash >= 0) rest = rest.slice(0, hash);
  const q = rest.indexOf('?');
  return q < 0 ? { path: rest, query: '' } : { path: rest.slice(0, q), query: rest.slice(q + 1) };
}

export function routeOf(path: string): RouteFamily {
  if (path === '/') return 'kms';
  if (path === '/admin' || path.startsWith('/admin/')) return 'admin';
  if (path === '/console' || path.startsWith('/console/')) return 'console';
  if (/\/kms\/xks\/v1(\/|$)/.test(path)) return 'xks';
  return 'other';
}

// The console's routes: a hash URL (`#/keys/ID`) per screen, so a link, the back button and a reload
// land on the same screen whether the page came over HTTP or from a file in the desktop app. A tiny
// table instead of vue-router: the console has a dozen screens and no nested layouts. A hash may carry a
// query after its path (`#/keys?state=Enabled&search=db`): a screen's own state that a reload, the back
// button and a copied link keep (the keys list's filters and page). The query never names the screen:
// `path` does, and a screen stays mounted while only its query changes.

export type RouteName =
  | 'signin'
  | 'seal'
  | 'dashboard'
  | 'keys'
  | 'key'
  | 'byok'
  | 'deletion'
  | 'keystore'
  | 'approvals'
  | 'approval'
  | 'audit'
  | 'hsms'
  | 'operators'
  | 'credentials'
  | 'transcript'
  | 'notFound';

export interface RouteMatch {
  name: RouteName;
  params: Record<string, string>;
  /** The hash's query (`?a=1&b=2`), decoded; empty when it has none. */
  query: Record<string, string>;
  /** The hash's path alone (`/keys`), which names the screen. */
  path: string;
}

/**
 * The parameters of a query string (with or without its `?`): `+` and percent-encoding decoded, the
 * first of a repeated name kept, a name or value that is not valid percent-encoding left out (a
 * hand-typed link must not break the screen).
 */
export function parseQuery(qs: string): Record<string, string> {
  // No prototype: a name such as `__proto__` is only a name.
  const out = Object.create(null) as Record<string, string>;
  for (const part of qs.replace(/^\?/, '').split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const [rawName, rawValue] = eq < 0 ? [part, ''] : [part.slice(0, eq), part.slice(eq + 1)];
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    } catch {
      continue;
    }
    if (name && !Object.hasOwn(out, name)) out[name] = value;
  }
  return out;
}

/** A query string (`?a=1&b=2`, or '' when there is nothing to say) of the non-empty values of `query`, in its order. */
export function formatQuery(query: Record<string, string | undefined>): string {
  const parts = Object.entries(query)
    .filter((e): e is [string, string] => typeof e[1] === 'string' && e[1] !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** The path of a hash, without its `#` and query: what names the screen. */
export const hashPath = (hash: string): string => hash.replace(/^#/, '').split('?')[0] ?? '';

const TABLE: readonly { pattern: RegExp; name: RouteName; params?: readonly string[] }[] = [
  { pattern: /^\/?$/, name: 'dashboard' },
  { pattern: /^\/signin$/, name: 'signin' },
  { pattern: /^\/seal$/, name: 'seal' },
  { pattern: /^\/keys$/, name: 'keys' },
  { pattern: /^\/keys\/([^/]+)$/, name: 'key', params: ['keyId'] },
  { pattern: /^\/byok$/, name: 'byok' },
  { pattern: /^\/byok\/([^/]+)$/, name: 'byok', params: ['keyId'] },
  { pattern: /^\/ceremonies\/deletion$/, name: 'deletion' },
  { pattern: /^\/ceremonies\/deletion\/([^/]+)$/, name: 'deletion', params: ['keyId'] },
  { pattern: /^\/ceremonies\/key-store$/, name: 'keystore' },
  { pattern: /^\/approvals$/, name: 'approvals' },
  { pattern: /^\/approvals\/(apr-[0-9a-f]+)$/, name: 'approval', params: ['id'] },
  { pattern: /^\/audit$/, name: 'audit' },
  { pattern: /^\/hsms$/, name: 'hsms' },
  { pattern: /^\/operators$/, name: 'operators' },
  { pattern: /^\/credentials$/, name: 'credentials' },
  { pattern: /^\/transcripts\/(apr-[0-9a-f]+)$/, name: 'transcript', params: ['id'] },
];

/** The route a hash (`#/keys/ID`, or a bare path) names; `notFound` when none. */
export function matchRoute(hash: string): RouteMatch {
  const path = hashPath(hash);
  const q = hash.indexOf('?');
  const query = q < 0 ? {} : parseQuery(hash.slice(q + 1));
  for (const r of TABLE) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    try {
      (r.params ?? []).forEach((p, i) => (params[p] = decodeURIComponent(m[i + 1]!)));
    } catch {
      // A hand-typed hash that is not valid percent-encoding names no screen.
      return { name: 'notFound', params: { path }, query, path };
    }
    return { name: r.name, params, query, path };
  }
  return { name: 'notFound', params: { path }, query, path };
}

/** The hash link of a screen. */
export const link = {
  dashboard: () => '#/',
  /** The keys list, with its filters and page in the query when given (`#/keys?state=Enabled&search=db`). */
  keys: (query: Record<string, string | undefined> = {}) => `#/keys${formatQuery(query)}`,
  key: (keyId: string) => `#/keys/${encodeURIComponent(keyId)}`,
  byok: (keyId?: string) => (keyId ? `#/byok/${encodeURIComponent(keyId)}` : '#/byok'),
  deletion: (keyId?: string) => (keyId ? `#/ceremonies/deletion/${encodeURIComponent(keyId)}` : '#/ceremonies/deletion'),
  keyStore: () => '#/ceremonies/key-store',
  approvals: () => '#/approvals',
  approval: (id: string) => `#/approvals/${id}`,
  audit: () => '#/audit',
  hsms: () => '#/hsms',
  operators: () => '#/operators',
  credentials: () => '#/credentials',
  transcript: (id: string) => `#/transcripts/${id}`,
  seal: () => '#/seal',
  signin: () => '#/signin',
};

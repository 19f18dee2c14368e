// The console's routes: a hash URL (`#/keys/ID`) per screen, so a link, the back button and a reload
// land on the same screen whether the page came over HTTP or from a file in the desktop app. A tiny
// table instead of vue-router: the console has a dozen screens and no nested layouts.

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
}

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
  const path = hash.replace(/^#/, '').split('?')[0] ?? '';
  for (const r of TABLE) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    const params: Record<string, string> = {};
    try {
      (r.params ?? []).forEach((p, i) => (params[p] = decodeURIComponent(m[i + 1]!)));
    } catch {
      // A hand-typed hash that is not valid percent-encoding names no screen.
      return { name: 'notFound', params: { path } };
    }
    return { name: r.name, params };
  }
  return { name: 'notFound', params: { path } };
}

/** The hash link of a screen. */
export const link = {
  dashboard: () => '#/',
  keys: () => '#/keys',
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

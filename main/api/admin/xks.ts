// /admin/v1/xks: the external key stores Kura serves as an XKS proxy (`kura xks stores|credentials|keys`,
// and later the console). A store is a URI path prefix (AWS KMS calls `/{prefix}/kms/xks/v1/…`,
// XKS proxy API spec v1.0.3 §3), the SigV4 credentials AWS KMS signs with (two or more at once, so a
// credential can be rotated without downtime), and the external keys it serves.
// A secret access key is in one answer only, the one that makes it; no route lists secrets. A store on an
// HSM is made with the token's user PIN ("pin"), which the domain checks by logging in and keeps sealed;
// no answer carries it.
// Every change goes through the KMS domain's XKS service (kms.xks), which audits it in its unit of
// work; this file only checks the wire shapes and names the operator. Times are ISO 8601.
import { KmsError } from '../../common/errors.js';
import type { XksCredentialView, XksKeyUsage, XksKeyView, XksProxy, XksStoreView } from '../../kms/index.js';
import type { JsonResponse } from '../http.js';

const OPERATOR = 'kura:admin';
const op = (operation: string) => ({ operator: OPERATOR, operation });
const iso = (ms: number): string => new Date(ms).toISOString();

export const xksStoreJson = (s: XksStoreView) => ({
  storeId: s.storeId,
  uriPathPrefix: s.uriPathPrefix,
  uriPath: s.uriPath,
  hsmId: s.hsmId,
  credentials: s.credentials,
  keys: s.keys,
  createdAt: iso(s.createdAt),
});
export const xksCredentialJson = (c: XksCredentialView) => ({ accessKeyId: c.accessKeyId, storeId: c.storeId, createdAt: iso(c.createdAt) });
export const xksKeyJson = (k: XksKeyView) => ({
  externalKeyId: k.externalKeyId,
  storeId: k.storeId,
  keyUsage: [...k.keyUsage],
  keyStatus: k.keyStatus,
  createdAt: iso(k.createdAt),
});

// Path segments: IDs are made by the domain (store IDs, AWS-format access key IDs, external key IDs of
// the spec's 1–128 characters); anything outside this set cannot be one and is not a route.
const SEG = '([A-Za-z0-9._~-]{1,128})';
const STORE = new RegExp(`^DELETE /xks/stores/${SEG}$`);
const CREDENTIALS = new RegExp(`^(GET|POST) /xks/stores/${SEG}/credentials$`);
const CREDENTIAL = new RegExp(`^DELETE /xks/stores/${SEG}/credentials/${SEG}$`);
const KEYS = new RegExp(`^(GET|POST) /xks/stores/${SEG}/keys$`);
const KEY = new RegExp(`^DELETE /xks/stores/${SEG}/keys/${SEG}$`);
const KEY_STATUS = new RegExp(`^POST /xks/stores/${SEG}/keys/${SEG}/(enable|disable)$`);

const USAGES: readonly string[] = ['ENCRYPT', 'DECRYPT'];

/** {"usage": [...]}: a list of distinct ENCRYPT / DECRYPT (empty: a key for neither); absent: both. */
function keyUsage(b: Record<string, unknown>): XksKeyUsage[] {
  const u = b.usage;
  if (u === undefined) return ['ENCRYPT', 'DECRYPT'];
  if (!Array.isArray(u) || !u.every((x): x is XksKeyUsage => typeof x === 'string' && USAGES.includes(x)) || new Set(u).size !== u.length) {
    throw new KmsError('Validation', '"usage" is a list of distinct "ENCRYPT" and "DECRYPT" (empty for a key that does neither).');
  }
  return u;
}

/** Refuses a body with a field `allowed` does not list (the admin API's bodies are strict). */
export function onlyFields(b: Record<string, unknown>, allowed: readonly string[], what: string): void {
  const extra = Object.keys(b).find((k) => !allowed.includes(k));
  if (extra !== undefined) throw new KmsError('Validation', `${what} takes ${allowed.length ? allowed.map((a) => `"${a}"`).join(', ') : 'no fields'}, not "${extra.slice(0, 64)}".`);
}

/** Answers an /xks route, or undefined when the route is not one of them. */
export async function handleXksRoute(
  xks: XksProxy,
  route: string,
  body: () => Record<string, unknown>,
  json: (status: number, body: unknown) => JsonResponse,
): Promise<JsonResponse | undefined> {
  if (!route.includes(' /xks/')) return undefined;
  if (route === 'GET /xks/stores') return json(200, { stores: (await xks.listStores()).map(xksStoreJson) });
  if (route === 'POST /xks/stores') {
    const b = body();
    onlyFields(b, ['uriPathPrefix', 'hsmId', 'pin'], 'An XKS store');
    const { uriPathPrefix, hsmId, pin } = b;
    if (typeof uriPathPrefix !== 'string' || (hsmId !== undefined && typeof hsmId !== 'string') || (pin !== undefined && typeof pin !== 'string')) {
      throw new KmsError('Validation', 'An XKS store needs "uriPathPrefix" (a string); "hsmId" (a string, cluster-…) and "pin" (the token\'s user PIN, a string) only for an HSM-backed store.');
    }
    const made = await xks.createStore(op('CreateXksStore'), { uriPathPrefix, ...(hsmId !== undefined ? { hsmId } : {}), ...(pin !== undefined ? { pin } : {}) });
    return json(200, { storeId: made.storeId, uriPath: made.uriPath, accessKeyId: made.accessKeyId, secretAccessKey: made.secretAccessKey });
  }
  const store = STORE.exec(route);
  if (store) {
    await xks.deleteStore(op('DeleteXksStore'), store[1]!);
    return json(200, { deleted: store[1] });
  }
  const credentials = CREDENTIALS.exec(route);
  if (credentials) {
    const storeId = credentials[2]!;
    if (credentials[1] === 'GET') return json(200, { credentials: (await xks.listCredentials(storeId)).map(xksCredentialJson) });
    onlyFields(body(), [], 'A new XKS credential');
    const made = await xks.createCredential(op('CreateXksCredential'), storeId);
    return json(200, { storeId: made.storeId, accessKeyId: made.accessKeyId, secretAccessKey: made.secretAccessKey });
  }
  const credential = CREDENTIAL.exec(route);
  if (credential) {
    await xks.deleteCredential(op('DeleteXksCredential'), credential[1]!, credential[2]!);
    return json(200, { deleted: credential[2] });
  }
  const keys = KEYS.exec(route);
  if (keys) {
    const storeId = keys[2]!;
    if (keys[1] === 'GET') return json(200, { keys: (await xks.listKeys(storeId)).map(xksKeyJson) });
    const b = body();
    onlyFields(b, ['usage'], 'An XKS key');
    const made = await xks.createKey(op('CreateXksKey'), storeId, keyUsage(b));
    return json(200, { externalKeyId: made.externalKeyId });
  }
  const status = KEY_STATUS.exec(route);
  if (status) {
    const keyStatus = status[3] === 'enable' ? 'ENABLED' : 'DISABLED';
    onlyFields(body(), [], `Setting an XKS key ${keyStatus}`);
    await xks.setKeyStatus(op(status[3] === 'enable' ? 'EnableXksKey' : 'DisableXksKey'), status[1]!, status[2]!, keyStatus);
    return json(200, { storeId: status[1], externalKeyId: status[2], keyStatus });
  }
  const key = KEY.exec(route);
  if (key) {
    await xks.deleteKey(op('DeleteXksKey'), key[1]!, key[2]!);
    return json(200, { deleted: key[2] });
  }
  return undefined;
}

// Calls to a running Kura as its operators and AWS KMS make them, for the XKS proxy's end-to-end tests:
// /admin/v1 routes with the admin token from the data directory, and XKS proxy API calls (POST, JSON,
// SigV4 for service kms-xks-proxy with a store's credential, XKS Proxy API v1.0.3) under a store's URI path.
import fs from 'node:fs';
import path from 'node:path';
import { signRequest } from '../../main/sigv4/sign.js';
import type { KuraProcess } from './kura-process.js';

export interface XksStoreCredential {
  uriPath: string;
  accessKeyId: string;
  secretAccessKey: string;
}

/** An /admin/v1 caller of `kura`: status and parsed JSON answer. */
export function adminCaller(kura: Pick<KuraProcess, 'url' | 'dataDir'>) {
  const token = fs.readFileSync(path.join(kura.dataDir, 'admin.token'), 'utf8').trim();
  return async (method: string, route: string, body?: unknown) => {
    const res = await fetch(`${kura.url}/admin/v1${route}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
}

/** One signed XKS call to `route` (e.g. /health, /keys/ID/encrypt) of the store `cred` names. */
export async function xksCall(kura: Pick<KuraProcess, 'url'>, cred: XksStoreCredential, route: string, body: unknown): Promise<{ status: number; json: Record<string, string> }> {
  const p = `${cred.uriPath}${route}`;
  const text = JSON.stringify(body);
  const host = new URL(kura.url).host;
  const { host: _h, ...headers } = signRequest({
    method: 'POST',
    host,
    path: p,
    body: text,
    accessKeyId: cred.accessKeyId,
    secretAccessKey: cred.secretAccessKey,
    region: 'us-east-1',
    service: 'kms-xks-proxy',
    nowMs: Date.now(),
    headers: { 'content-type': 'application/json' },
  });
  const res = await fetch(`${kura.url}${p}`, { method: 'POST', headers, body: text });
  return { status: res.status, json: (await res.json()) as Record<string, string> };
}

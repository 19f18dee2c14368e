// Custodians for the quorum tests: key pairs as node:crypto makes them, signing an approval statement
// as openssl would (Ed25519 "pure"; ECDSA P-256 over SHA-256, DER or r || s), and a caller of the admin
// API's own handler in process (no listener), as the console and the CLI reach it, over a domain whose
// Quorum is not a dev one.
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import path from 'node:path';
import { approvalSecretSealer } from '../../main/app.js';
import { runApprovedCommand } from '../../main/api/admin/commands.js';
import { replayApprovedCall } from '../../main/api/kms/dispatch.js';
import { handleAdminRequest, type AdminDeps } from '../../main/api/admin/routes.js';
import { fingerprintOf } from '../../main/ceremony/operator-keys.js';
import { Quorum } from '../../main/ceremony/quorum.js';
import { ConsoleSignIn } from '../../main/ceremony/sign-in.js';
import { createLogger } from '../../main/common/log.js';
import { openDomain, type Domain, type DomainOptions } from './domain.js';

/** A custodian's key pair; `sign` makes what openssl would over a statement. */
export interface Custodian {
  publicPem: string;
  privateKey: KeyObject;
  fingerprint: string;
  sign(statement: Buffer): Buffer;
}

export function custodian(kind: 'ed25519' | 'p256', encoding: 'der' | 'ieee-p1363' = 'der'): Custodian {
  const { publicKey, privateKey } = kind === 'ed25519' ? generateKeyPairSync('ed25519') : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    publicPem: publicKey.export({ format: 'pem', type: 'spki' }).toString(),
    privateKey,
    fingerprint: fingerprintOf(publicKey.export({ format: 'der', type: 'spki' })),
    sign: (statement) => (kind === 'ed25519' ? sign(null, statement, privateKey) : sign('sha256', statement, { key: privateKey, dsaEncoding: encoding })),
  };
}

export interface AdminAnswer {
  status: number;
  body: Record<string, unknown> & { error?: string; message?: string };
  headers: Record<string, string | number>;
}

/** Calls /admin/v1`path` through the admin handler with `deps()` (set up later, in a beforeAll) and the token. */
export function adminCaller(deps: () => AdminDeps, defaultToken: string) {
  return async (method: string, path: string, body?: unknown, token = defaultToken): Promise<AdminAnswer> => {
    const res = await handleAdminRequest(deps(), {
      method,
      path: `/admin/v1${path}`,
      query: '',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? Buffer.alloc(0) : Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    });
    return { status: res.status, body: JSON.parse(res.body) as AdminAnswer['body'], headers: res.headers };
  };
}

export type AdminCall = ReturnType<typeof adminCaller>;

/**
 * A domain with a Quorum that is not a dev one (operator changes are gated once the `operators` class has
 * a policy) and knows whether the root key is unsealed, console sign-in, and the admin API's deps over them; an approved operator command runs
 * through the admin API's executor as in app.ts (this domain's KMS calls are not gated).
 */
export async function openQuorumAdmin(
  token: string,
  opts: Pick<DomainOptions, 'hsmConnector' | 'unseal'> & { /** The quorum gates the domain's KMS calls too (as in app.ts). */ gateKms?: boolean } = {},
): Promise<{ d: Domain; deps: AdminDeps; quorum: Quorum }> {
  // The domain is opened before the Quorum (which needs its store): the gate forwards to it once made.
  const late: { gate?: Quorum } = {};
  const d = await openDomain({ ...(opts.hsmConnector ? { hsmConnector: opts.hsmConnector } : {}), ...(opts.unseal ? { unseal: opts.unseal } : {}), ...(opts.gateKms ? { gate: { admit: (r) => late.gate!.admit(r) } } : {}) });
  const log = createLogger('error', () => undefined);
  const quorum = new Quorum({ store: d.store, audit: d.audit, clock: d.clock, applianceId: d.applianceId, dev: false, log, isUnsealed: () => d.root.isUnsealed, secrets: approvalSecretSealer(d.root) });
  late.gate = quorum;
  const signIn = new ConsoleSignIn({ store: d.store, audit: d.audit, clock: d.clock, monotonic: d.clock.monotonic });
  const deps: AdminDeps = { root: d.root, credentials: d.credentials, audit: d.audit, log, adminToken: token, applianceId: d.applianceId, version: 'test', onUnsealed: async () => undefined, kms: d.keys, quorum, signIn };
  quorum.setExecutor({
    execute: async (r, call) => (call.kind === 'command' ? runApprovedCommand(deps, r, call) : { summary: await replayApprovedCall({ kms: d.keys }, call.caller) }),
  });
  return { d, deps, quorum };
}

/** POST /approvals/ID/approvals with a signature (and the operator who made it, when named). */
export const approveWith = (call: AdminCall) => (id: string, signature: Buffer, operator?: string) =>
  call('POST', `/approvals/${id}/approvals`, { signature: signature.toString('base64'), ...(operator !== undefined ? { operator } : {}) });

/** `openssl genpkey` arguments for the two kinds of custodian key. */
export const ED25519 = ['-algorithm', 'ed25519'];
export const P256 = ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'];

/**
 * A custodian's key made by the openssl command line in `dir`: the private key by `openssl genpkey`, its
 * public half by `openssl pkey -pubout`, and that half's SHA-256 over openssl's DER (the fingerprint).
 */
export function opensslCustodianKey(dir: string, name: string, ...genpkeyArgs: string[]): { key: string; pub: string; sha256: string } {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  const key = path.join(dir, `${name}.pem`);
  const pub = path.join(dir, `${name}.pub.pem`);
  openssl('genpkey', ...genpkeyArgs, '-out', key);
  openssl('pkey', '-in', key, '-pubout', '-out', pub);
  const der = openssl('pkey', '-pubin', '-in', pub, '-outform', 'DER');
  return { key, pub, sha256: createHash('sha256').update(der).digest('hex') };
}

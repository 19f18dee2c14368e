// Custom key stores of type EXTERNAL_KEY_STORE, live: their settings, which are connected now, and the
// health checks that connect them. What ./custom-key-stores.ts is for HSMs, this is for XKS proxies.
//
// AWS's behaviour, kept: connecting runs a health check (GetHealthStatus) against the proxy and ends
// CONNECTED, or FAILED with an XKS_PROXY_* ConnectionErrorCode; a proxy that stops answering later does
// not change the state (AWS: "a CONNECTED state does not indicate that the external key store is
// operating"); its keys' cryptographic operations answer KMSInvalidStateException until it answers
// again. A connected store is registered in the KeyStoreRegistry under its custom key store ID.
//
// The proxy authentication credential's secret is sealed under the root key before it is stored and
// opened only to build a connection; the appliance sealing closes every connection (the secrets go with
// them) without changing the stored state, and unsealing reopens the stores stored as CONNECTED. A store
// reopened with new settings (UpdateCustomKeyStore while connected) replaces the old one at once; the
// old one's calls in progress end on its connections, which then close.
import { isIP } from 'node:net';
import { ExternalKeyStore, XksClient, XksProxyError, type ExternalKeyStoreParts, type XksFailureKind } from '../keystores/external/index.js';
import type { KeyStoreRegistry } from '../keystores/key-store.js';
import { encodeAad } from '../seal/at-rest.js';
import type { RootKeyHolder } from '../seal/root-key.js';
import { KmsError, kmsErrors } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { CustomKeyStoreRecord } from '../store/index.js';

/** AWS's ConnectionErrorCode values of external key stores that Kura can meet (no VPC endpoint services). */
export type XksConnectionErrorCode =
  | 'XKS_PROXY_ACCESS_DENIED'
  | 'XKS_PROXY_NOT_REACHABLE'
  | 'XKS_PROXY_INVALID_RESPONSE'
  | 'XKS_PROXY_INVALID_CONFIGURATION'
  | 'XKS_PROXY_TIMED_OUT'
  | 'XKS_PROXY_INVALID_TLS_CONFIGURATION'
  | 'INTERNAL_ERROR';

/** The settings of an EXTERNAL_KEY_STORE store, as kept in CustomKeyStoreRecord.config. */
export interface XksStoreConfig {
  uriEndpoint: string;
  uriPath: string;
  connectivity: 'PUBLIC_ENDPOINT';
  accessKeyId: string;
  /** The raw secret access key, sealed under the root key, base64. */
  secretSealed: string;
  /** The region requests to the proxy are signed for (the store's region). */
  region: string;
  connectionErrorCode?: XksConnectionErrorCode;
}

export const xksStoreConfig = (c: CustomKeyStoreRecord): XksStoreConfig => c.config as unknown as XksStoreConfig;

/** How this appliance reaches proxies: extra trusted CAs, addresses to connect to instead of DNS, the deadline. */
export interface XksClientOptions {
  /** PEM certificates trusted for proxies besides the system's CAs. */
  ca?: readonly string[];
  /** Endpoint host name → where to connect instead (curl's --connect-to). */
  connectTo?: ReadonlyMap<string, { host: string; port: number }>;
  /** Each call's deadline (default 250 ms, AWS's). */
  timeoutMs?: number;
}

const CODE_OF_KIND: Record<XksFailureKind, XksConnectionErrorCode> = {
  TIMED_OUT: 'XKS_PROXY_TIMED_OUT',
  NOT_REACHABLE: 'XKS_PROXY_NOT_REACHABLE',
  INVALID_TLS: 'XKS_PROXY_INVALID_TLS_CONFIGURATION',
  ACCESS_DENIED: 'XKS_PROXY_ACCESS_DENIED',
  INVALID_RESPONSE: 'XKS_PROXY_INVALID_RESPONSE',
  INVALID_CONFIGURATION: 'XKS_PROXY_INVALID_CONFIGURATION',
  PROXY_ERROR: 'XKS_PROXY_INVALID_RESPONSE',
};

/** The outcome of a health check: fine, or why not (a connection error code and a message). */
export type HealthCheck = { ok: true } | { ok: false; errorCode: XksConnectionErrorCode; message: string };

/** The errors a proxy answers that AWS KMS reads as a proxy it cannot reach in time (the spec's table): retry later. */
const BUSY_PROXY_ERRORS = new Set(['DependencyTimeoutException', 'ThrottlingException']);

/**
 * The kmsOperation of a GetHealthStatus call (the XKS spec, GetHealthStatus): the KMS API that made it
 * (CreateCustomKeyStore, UpdateCustomKeyStore, ConnectCustomKeyStore), or KmsHealthCheck for a periodic
 * check made apart from any KMS call.
 */
export type XksHealthCheckOperation = 'CreateCustomKeyStore' | 'UpdateCustomKeyStore' | 'ConnectCustomKeyStore' | 'KmsHealthCheck';

/** GetHealthStatus: fine when at least one external key manager is ACTIVE or DEGRADED (AWS: all UNAVAILABLE is unreachable). */
export async function proxyHealth(client: XksClient, requestId: string, kmsOperation: XksHealthCheckOperation): Promise<HealthCheck> {
  try {
    const health = await client.health({ kmsOperation, kmsRequestId: requestId });
    if (health.ekmFleetDetails.every((e) => e.healthStatus === 'UNAVAILABLE')) {
      return { ok: false, errorCode: 'XKS_PROXY_NOT_REACHABLE', message: 'The XKS proxy reports every external key manager UNAVAILABLE.' };
    }
    return { ok: true };
  } catch (e) {
    if (e instanceof XksProxyError) {
      const busy = e.kind === 'PROXY_ERROR' && e.errorName !== undefined && BUSY_PROXY_ERRORS.has(e.errorName);
      return { ok: false, errorCode: busy ? 'XKS_PROXY_TIMED_OUT' : CODE_OF_KIND[e.kind], message: e.message };
    }
    return { ok: false, errorCode: 'INTERNAL_ERROR', message: e instanceof Error ? e.message : String(e) };
  }
}

const secretAad = (storeId: string) => encodeAad('kura/custom-key-store/xks-secret/v1', storeId);

export interface XksConnectionsDeps {
  registry: KeyStoreRegistry;
  root: RootKeyHolder;
  /** Where the inner material of external keys lives: the standard key store. */
  standard: ExternalKeyStoreParts['inner'];
  options?: XksClientOptions;
  /** Where a proxy's own error messages go (AWS logs them; it does not return them to KMS callers). */
  log?: Logger;
}

export class XksConnections {
  private readonly live = new Map<string, ExternalKeyStore>();
  /**
   * Every client made here whose connections are not closed yet: the live stores', a retired store's
   * with calls still in progress, a health check's. A seal closes them all at once, failing what is in
   * progress, so that no call runs on an opened proxy secret past the seal (a retired client would
   * otherwise close only when its last call ended, a health check's when its check did).
   */
  private readonly clients = new Set<XksClient>();

  constructor(private readonly deps: XksConnectionsDeps) {
    deps.root.onSeal(() => this.closeAll());
  }

  sealSecret(storeId: string, secret: string): string {
    return this.deps.root.credentialSealer().sealText(secret, secretAad(storeId)).toString('base64');
  }

  private openSecret(storeId: string, config: XksStoreConfig): string {
    return this.deps.root.credentialSealer().openText(Buffer.from(config.secretSealed, 'base64'), secretAad(storeId));
  }

  /** A client for a store's proxy, with its stored (sealed) secret. */
  clientOf(c: CustomKeyStoreRecord): XksClient {
    const config = xksStoreConfig(c);
    return this.client(config, this.openSecret(c.id, config));
  }

  /** A client for a store's proxy (settings as given: a store being created or updated is not stored yet). */
  client(config: Omit<XksStoreConfig, 'secretSealed' | 'connectionErrorCode'>, secretAccessKey: string): XksClient {
    const o = this.deps.options ?? {};
    const host = new URL(config.uriEndpoint).hostname;
    const connectTo = o.connectTo?.get(host);
    for (const c of this.clients) if (c.finished) this.clients.delete(c);
    const made = new XksClient({
      uriEndpoint: config.uriEndpoint,
      uriPath: config.uriPath,
      accessKeyId: config.accessKeyId,
      secretAccessKey,
      region: config.region,
      ...(connectTo ? { connectTo } : {}),
      ...(o.ca ? { ca: o.ca } : {}),
      ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
      ...(this.deps.log ? { log: this.deps.log } : {}),
    });
    this.clients.add(made);
    return made;
  }

  /** GetHealthStatus of a store's proxy (proxyHealth, below). */
  check(client: XksClient, requestId: string, kmsOperation: XksHealthCheckOperation): Promise<HealthCheck> {
    return proxyHealth(client, requestId, kmsOperation);
  }

  /**
   * A health check of a store's settings as they are being configured (CreateCustomKeyStore,
   * UpdateCustomKeyStore), on a client of its own; Sealed when the appliance sealed meanwhile, which cut
   * the check short (closeAll): the proxy did not fail it.
   */
  async checkSettings(c: CustomKeyStoreRecord, requestId: string, kmsOperation: XksHealthCheckOperation): Promise<HealthCheck> {
    const seals = this.deps.root.sealCount;
    const client = this.clientOf(c);
    try {
      const checked = await this.check(client, requestId, kmsOperation);
      if (!this.deps.root.unsealedSince(seals)) throw new KmsError('Sealed', `Kura was sealed while the XKS proxy of external key store ${c.id} was being checked; try again once Kura is unsealed.`);
      return checked;
    } finally {
      client.close();
    }
  }

  /** The live state of a store: CONNECTED only while it is registered here. */
  state(c: CustomKeyStoreRecord): { state: CustomKeyStoreRecord['connectionState']; errorCode?: XksConnectionErrorCode } {
    if (this.live.has(c.id)) return { state: 'CONNECTED' };
    if (c.connectionState === 'FAILED') return { state: 'FAILED', errorCode: xksStoreConfig(c).connectionErrorCode ?? 'INTERNAL_ERROR' };
    // Stored as CONNECTED but not open here (the appliance is sealed): not usable.
    return { state: c.connectionState === 'CONNECTED' ? 'CONNECTING' : c.connectionState };
  }

  /**
   * Connects a store: with `healthCheck`, only if its proxy passes one (ConnectCustomKeyStore), else at
   * once (reopening a store stored as CONNECTED after unsealing, as AWS keeps such a store CONNECTED).
   */
  async open(c: CustomKeyStoreRecord, healthCheck: { requestId: string; kmsOperation: XksHealthCheckOperation } | undefined): Promise<{ state: 'CONNECTED' } | { state: 'FAILED'; errorCode: XksConnectionErrorCode; message: string }> {
    this.close(c.id, 'retire');
    const seals = this.deps.root.sealCount;
    const client = this.clientOf(c);
    if (healthCheck) {
      const checked = await this.check(client, healthCheck.requestId, healthCheck.kmsOperation);
      // Sealed during the check, which the seal cut short (closeAll): the proxy did not fail it.
      if (!this.deps.root.unsealedSince(seals)) throw this.sealedMeanwhile(c.id, client);
      if (!checked.ok) {
        client.close();
        return { state: 'FAILED', errorCode: checked.errorCode, message: checked.message };
      }
    }
    // Sealed during the health check: the client holds the opened secret, which a sealed appliance keeps nowhere.
    if (!this.deps.root.unsealedSince(seals)) throw this.sealedMeanwhile(c.id, client);
    // Another open of this store may have registered while this one's health check ran: the later one
    // wins, and the earlier one's connections are closed, not left open behind an unregistered store.
    this.close(c.id, 'retire');
    const store = new ExternalKeyStore({ customKeyStoreId: c.id, client, inner: this.deps.standard });
    this.deps.registry.register(c.id, store);
    this.live.set(c.id, store);
    return { state: 'CONNECTED' };
  }

  private sealedMeanwhile(storeId: string, client: XksClient): KmsError {
    client.close();
    return new KmsError('Sealed', `Kura was sealed while external key store ${storeId} connected to its proxy; connect it again once Kura is unsealed.`);
  }

  /**
   * Unregisters a store and closes its connections: at once, failing its calls in progress (it is
   * disconnected, or the appliance seals), or, `retire`, once those calls end (a store reopened with new
   * settings replaces it: a credential rotated on a connected store fails none of its calls).
   */
  close(storeId: string, how: 'now' | 'retire' = 'now'): void {
    const store = this.live.get(storeId);
    if (!store) return;
    this.live.delete(storeId);
    this.deps.registry.unregister(storeId);
    if (how === 'retire') store.retire();
    else store.close();
  }

  /** Closes every store's connections, and every other client's (the appliance seals). */
  closeAll(): void {
    for (const id of [...this.live.keys()]) this.close(id);
    for (const c of this.clients) c.close();
    this.clients.clear();
  }

  isOpen(storeId: string): boolean {
    return this.live.has(storeId);
  }
}

// ---- the settings of an external key store, as CreateCustomKeyStore and UpdateCustomKeyStore give them ----

/** The XksProxy* members of CreateCustomKeyStore and UpdateCustomKeyStore. */
export interface XksProxySettingsInput {
  xksProxyUriEndpoint?: string;
  xksProxyUriPath?: string;
  xksProxyVpcEndpointServiceName?: string;
  xksProxyAuthenticationCredential?: { accessKeyId: string; rawSecretAccessKey: string };
  xksProxyConnectivity?: string;
}

const XKS_MEMBERS = ['xksProxyUriEndpoint', 'xksProxyUriPath', 'xksProxyVpcEndpointServiceName', 'xksProxyAuthenticationCredential', 'xksProxyConnectivity'] as const;
export const namesXks = (input: XksProxySettingsInput) => XKS_MEMBERS.some((m) => input[m] !== undefined);
const XKS_URI_ENDPOINT = /^https:\/\/[a-zA-Z0-9.-]+$/;
const XKS_URI_PATH = /^(\/[a-zA-Z0-9/_-]+\/kms\/xks\/v\d{1,2})$|^(\/kms\/xks\/v\d{1,2})$/;

/** AWS's answer to a failed health check of a proxy being configured (CreateCustomKeyStore, UpdateCustomKeyStore). */
export function settingsRefused(checked: { errorCode: XksConnectionErrorCode; message: string }): KmsError {
  switch (checked.errorCode) {
    case 'XKS_PROXY_ACCESS_DENIED':
      return new KmsError('XksProxyIncorrectAuthenticationCredential', checked.message);
    case 'XKS_PROXY_INVALID_RESPONSE':
      return new KmsError('XksProxyInvalidResponse', checked.message);
    case 'XKS_PROXY_INVALID_CONFIGURATION':
      return new KmsError('XksProxyInvalidConfiguration', checked.message);
    default:
      // No connection, no TLS connection, no answer in time, a busy proxy: the spec's table has AWS KMS
      // answer all of them XksProxyUriUnreachableException.
      return new KmsError('XksProxyUriUnreachable', checked.message);
  }
}

export const xksUriOf = (c: CustomKeyStoreRecord): string => `${xksStoreConfig(c).uriEndpoint}${xksStoreConfig(c).uriPath}`;

/**
 * An external key store's proxy settings, checked as AWS does; Kura reaches proxies over public endpoints
 * only. Where the name resolves is not checked: AWS needs a public address because it calls from the
 * internet, while Kura runs beside the proxies, on the same private network or host (the operator's
 * --xks-connect-to maps a name to a loopback port). What reaching an address the caller names can
 * tell is bounded: HTTPS to port 443 only, a certificate that must verify for the name, redirects never
 * followed, and an answer read to 256 KiB at most, within the deadline.
 */
export function checkXksSettings(input: { xksProxyUriEndpoint: string; xksProxyUriPath: string; xksProxyConnectivity: string; xksProxyVpcEndpointServiceName?: string; xksProxyAuthenticationCredential?: { accessKeyId: string; rawSecretAccessKey: string } }, opts: { endpointStored?: boolean } = {}): { uriEndpoint: string; uriPath: string } {
  if (input.xksProxyConnectivity === 'VPC_ENDPOINT_SERVICE' || input.xksProxyVpcEndpointServiceName !== undefined) {
    throw new KmsError('UnsupportedOperation', 'Kura reaches XKS proxies over public endpoints only (XksProxyConnectivity PUBLIC_ENDPOINT): it has no Amazon VPC.');
  }
  if (input.xksProxyConnectivity !== 'PUBLIC_ENDPOINT') throw kmsErrors.validation(`XksProxyConnectivity ${input.xksProxyConnectivity} is not PUBLIC_ENDPOINT or VPC_ENDPOINT_SERVICE.`);
  if (!XKS_URI_ENDPOINT.test(input.xksProxyUriEndpoint)) throw kmsErrors.validation('XksProxyUriEndpoint must be https:// and a host name, without a port or a path.');
  // The spec: the server MUST be a fully qualified domain name rather than an IP address (its certificate
  // names it; TLS's SNI cannot carry an address). Checked when an endpoint is set: a store made before
  // Kura refused them keeps its endpoint, and can still be renamed or have its credential rotated.
  if (!opts.endpointStored && isIP(new URL(input.xksProxyUriEndpoint).hostname) !== 0) throw kmsErrors.validation('XksProxyUriEndpoint must name its host by a domain name, not an IP address.');
  if (!XKS_URI_PATH.test(input.xksProxyUriPath)) throw kmsErrors.validation('XksProxyUriPath must be /kms/xks/v{n} or /{prefix}/kms/xks/v{n}.');
  const c = input.xksProxyAuthenticationCredential;
  if (c && (!/^[A-Z2-7]{20,30}$/.test(c.accessKeyId) || !/^[a-zA-Z0-9/+=]{43,64}$/.test(c.rawSecretAccessKey))) {
    throw kmsErrors.validation('An XKS proxy credential has an AccessKeyId of 20 to 30 characters A-Z and 2-7, and a RawSecretAccessKey of 43 to 64 base64 characters.');
  }
  return { uriEndpoint: input.xksProxyUriEndpoint, uriPath: input.xksProxyUriPath };
}

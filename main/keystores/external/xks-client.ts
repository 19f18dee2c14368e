// Kura as an XKS client: the calls an external key store makes to its XKS proxy (the XKS proxy API
// specification, aws/aws-kms-xksproxy-api-spec, xks_proxy_api_spec.md v1.0.3): GetHealthStatus,
// GetKeyMetadata, Encrypt and Decrypt, POSTed as JSON to {XksProxyUriEndpoint}{XksProxyUriPath}/…,
// signed with SigV4 (service kms-xks-proxy) by the store's proxy authentication credential, over HTTPS.
//
// As AWS KMS does: every call has a deadline (250 ms by default, AWS's, for the whole exchange),
// connections are kept alive, the proxy's TLS certificate must verify for the endpoint's host name (the
// system's CAs, plus any the operator trusts for proxies), and an Encrypt asks for the ciphertext data
// integrity value and checks it. A call sent on a kept-alive connection the proxy had closed goes again
// on a new one, within the deadline: a proxy's restart costs no call. Every failure is an XksProxyError
// saying what kind of failure it was, so that the key store can answer each operation with AWS's error and
// a connection attempt with AWS's connection error code.
//
// A kept-alive connection is closed once idle for XKS_IDLE_MS (sooner when the proxy announces a shorter
// Keep-Alive timeout), and at most MAX_IDLE_CONNECTIONS are kept idle: a connected store holds no
// connections it does not use, and the proxy's end is not left to close them under a request.
//
// `connectTo` sends the connection to another address than the endpoint's host (as curl's
// --connect-to): TLS and SigV4 still name the endpoint's host. A proxy on a loopback port, or behind a
// name not in DNS, is reachable this way while the endpoint keeps AWS's shape (https://host, no port).
//
// Why one file of this length: it is the one place Kura talks to a proxy — the four calls' checks of what
// a proxy answers (each a few lines, shaped by the spec's tables) and the one exchange they share, whose
// deadline, retry, connection lifetime and failure kinds must agree with each other; split, each half
// would have to know the other's rules.
import { createHash } from 'node:crypto';
import dns from 'node:dns';
import type { ClientRequest } from 'node:http';
import { isIP } from 'node:net';
import type { Duplex } from 'node:stream';
import https from 'node:https';
import tls from 'node:tls';
import type { Logger } from '../../common/log.js';
import { signRequest } from '../../sigv4/sign.js';

/** What went wrong with a call, in the terms of AWS's XKS connection error codes. */
export type XksFailureKind =
  /** No answer within the deadline. */
  | 'TIMED_OUT'
  /** No connection: refused, reset, no route, the name does not resolve. */
  | 'NOT_REACHABLE'
  /** The TLS handshake failed: the certificate does not verify for the host, or no common protocol. */
  | 'INVALID_TLS'
  /** The proxy refused the credential (AuthenticationFailedException, AccessDeniedException). */
  | 'ACCESS_DENIED'
  /** An answer that is not the specification's: not JSON, missing or malformed members, a wrong CDIV. */
  | 'INVALID_RESPONSE'
  /** The proxy does not serve this URI path (InvalidUriPathException), or answered 404/405 without a spec error. */
  | 'INVALID_CONFIGURATION'
  /** A specification error about the request itself (KeyNotFoundException, InvalidCiphertextException, …): see errorName. */
  | 'PROXY_ERROR';

export class XksProxyError extends Error {
  constructor(
    readonly kind: XksFailureKind,
    message: string,
    /** The specification's errorName, for PROXY_ERROR (and ACCESS_DENIED, INVALID_CONFIGURATION when the proxy named one). */
    readonly errorName?: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'XksProxyError';
  }
}

/** The requestMetadata Kura sends: who asked, for which KMS key and operation, in which request. */
export interface XksRequestMetadata {
  awsPrincipalArn: string;
  kmsKeyArn?: string;
  kmsOperation: string;
  kmsRequestId: string;
}

export interface XksClientConfig {
  /** https://host — AWS's XksProxyUriEndpoint (no port, no path). */
  uriEndpoint: string;
  /** /kms/xks/v1 or /{prefix}/kms/xks/v1 — AWS's XksProxyUriPath. */
  uriPath: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The region in the SigV4 credential scope (the external key store's region). */
  region: string;
  /** Where to connect instead of the endpoint's host, port 443. */
  connectTo?: { host: string; port: number };
  /** CAs trusted for proxies besides the system's (PEM). */
  ca?: readonly string[];
  /** The deadline of each call (AWS: 250 ms). */
  timeoutMs?: number;
  /** How long a kept-alive connection may stay idle before it is closed (XKS_IDLE_MS). */
  idleMs?: number;
  /** Where the errorMessage of a proxy's error answer goes: the log, never the KMS caller (as AWS KMS does). */
  log?: Logger;
  nowMs?: () => number;
}

export const XKS_TIMEOUT_MS = 250;
/**
 * How long an idle kept-alive connection to a proxy is kept. Below the idle timeouts of what usually
 * fronts a proxy and does not say its own (an AWS ALB's 60 s, nginx's 75 s, an NLB's 350 s), so that
 * Kura, not the proxy's end, closes it; one closed by the other end all the same is sent again (above).
 * A proxy that announces a shorter one (Keep-Alive: timeout=5, as Node's and Apache's servers do) is
 * followed: Node's agent reads that hint only when it has an idle timeout of its own.
 */
export const XKS_IDLE_MS = 30_000;
/**
 * Idle connections kept per proxy, of the 64 a burst may open: enough for a steady load between
 * bursts; the rest close as their call ends instead of waiting out XKS_IDLE_MS.
 */
export const MAX_IDLE_CONNECTIONS = 16;
/** A proxy's answer is small (a 4,300-byte plaintext is under 6 KiB in base64): anything larger is not one. */
const MAX_RESPONSE_BYTES = 256 * 1024;
const SERVICE = 'kms-xks-proxy';
/** GetHealthStatus's bound on ekmFleetDetails, and GetKeyMetadata's on keyUsage. */
const MAX_EKMS = 10;
const MAX_KEY_USAGES = 10;
const EKM_HEALTH: ReadonlySet<string> = new Set(['ACTIVE', 'DEGRADED', 'UNAVAILABLE']);
const KEY_STATUSES: ReadonlySet<string> = new Set(['ENABLED', 'DISABLED']);

/** How much of Node's message about a failed connection an error repeats. */
const MAX_NODE_MESSAGE = 200;
/** How a kept-alive connection the proxy closed fails the next request sent on it. */
const STALE_CONNECTION_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const NOT_REACHABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE', 'ECONNABORTED', 'EADDRNOTAVAIL']);

/**
 * The lookup of a proxy's host name, one at a time however many calls wait for it. Node resolves names
 * with getaddrinfo on libuv's pool of four threads, the pool SQLite's work runs on too, and a lookup
 * holds its thread until the resolver gives up (seconds), long after the call's deadline: a proxy whose
 * DNS does not answer would take one thread per call, and four calls would stall the appliance's
 * database. Calls that come while a lookup of their name runs wait for it instead; none is kept after.
 */
const lookupsInFlight = new Map<string, Promise<dns.LookupAddress[]>>();

function sharedLookup(hostname: string, options: dns.LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void): void {
  const family = options.family ?? 0;
  const key = `${hostname}/${family}/${options.hints ?? 0}`;
  let lookup = lookupsInFlight.get(key);
  if (!lookup) {
    lookup = new Promise<dns.LookupAddress[]>((resolve, reject) => {
      dns.lookup(hostname, { family, hints: options.hints ?? 0, all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
    }).finally(() => lookupsInFlight.delete(key));
    lookupsInFlight.set(key, lookup);
  }
  lookup.then(
    (addresses) => {
      const first = addresses[0];
      if (options.all) callback(null, addresses);
      else if (first) callback(null, first.address, first.family);
      else callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), '');
    },
    (err: NodeJS.ErrnoException) => callback(err, ''),
  );
}

/** Whether a socket error is TLS's (certificate or handshake) rather than the network's. */
function isTlsError(code: string): boolean {
  return (
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    code.startsWith('CERT_') ||
    code.includes('CERT') ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' ||
    code === 'ERR_TLS_CERT_ALTNAME_INVALID'
  );
}

const errorCode = (e: unknown): string => (e !== null && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : '');

export function failureOfSocketError(e: unknown): XksProxyError {
  const code = errorCode(e);
  // Node's words can quote the proxy (a certificate's names, every one): cut, so that a KMS caller's error
  // does not carry pages of the proxy's text.
  const said = e instanceof Error ? e.message : String(e);
  const why = said.length > MAX_NODE_MESSAGE ? `${said.slice(0, MAX_NODE_MESSAGE)}…` : said;
  if (isTlsError(code)) return new XksProxyError('INVALID_TLS', `The TLS connection to the XKS proxy failed (${code}): ${why}`);
  // Node's HTTP parser refused what came back (not HTTP, headers past 16 KiB, a bad chunk): the proxy was
  // reached and answered, malformed (the spec's table: AWS KMS's XksProxyInvalidResponseException).
  if (code.startsWith('HPE_')) return new XksProxyError('INVALID_RESPONSE', `The XKS proxy's answer is not well-formed HTTP (${code}).`);
  if (NOT_REACHABLE_CODES.has(code)) return new XksProxyError('NOT_REACHABLE', `The XKS proxy cannot be reached (${code}).`);
  return new XksProxyError('NOT_REACHABLE', `The XKS proxy cannot be reached: ${why}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A base64 member of an answer, decoded; INVALID_RESPONSE when it is missing or not base64. */
function b64(body: Record<string, unknown>, name: string, optional = false): Buffer | undefined {
  const v = body[name];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) {
    throw new XksProxyError('INVALID_RESPONSE', `The XKS proxy's answer has no valid base64 ${name}.`);
  }
  return Buffer.from(v, 'base64');
}

export interface XksHealth {
  ekmFleetDetails: { id: string; model: string; healthStatus: string }[];
}

export interface XksKeyMetadata {
  keySpec: string;
  keyUsage: string[];
  keyStatus: string;
}

export interface XksSealedByProxy {
  ciphertext: Buffer;
  iv: Buffer;
  tag: Buffer;
  ciphertextMetadata: Buffer | undefined;
}

export class XksClient {
  private readonly agent: https.Agent;
  private readonly host: string;
  /** The host as TLS and the socket name it: an IPv6 literal without URL's brackets. */
  private readonly tlsHost: string;
  private readonly tlsName: Pick<https.RequestOptions, 'servername' | 'checkServerIdentity'>;
  private readonly basePath: string;
  private readonly timeoutMs: number;
  private readonly nowMs: () => number;
  /** Takes no more calls. */
  private closed = false;
  /** Its connections are gone: not even a call in progress opens another. */
  private destroyed = false;
  /** Calls in progress, which a retired client lets end before it closes its connections. */
  private inFlight = 0;

  constructor(private readonly config: XksClientConfig) {
    const url = new URL(config.uriEndpoint);
    if (url.protocol !== 'https:' || url.port !== '' || (url.pathname !== '/' && url.pathname !== '')) {
      throw new XksProxyError('INVALID_CONFIGURATION', `${config.uriEndpoint} is not https://host.`);
    }
    this.host = url.hostname;
    const tlsHost = url.hostname.replace(/^\[(.*)\]$/, '$1');
    this.tlsHost = tlsHost;
    // SNI carries a host name only (RFC 6066; Node deprecates an address there, DEP0123), so an endpoint
    // saved as an IP address sends none. The certificate is checked against the endpoint's host either
    // way, its IP SANs for an address: left to itself, Node would check the address connected to, which
    // connectTo may have changed.
    this.tlsName = { servername: isIP(tlsHost) === 0 ? tlsHost : '', checkServerIdentity: (_name, cert) => tls.checkServerIdentity(tlsHost, cert) };
    this.basePath = config.uriPath.replace(/\/+$/, '');
    this.timeoutMs = config.timeoutMs ?? XKS_TIMEOUT_MS;
    this.nowMs = config.nowMs ?? Date.now;
    // One TLS context for every connection: given a `ca` list instead, Node parses it (the system's
    // ~140 roots and the operator's) again for each new connection, some 20 ms of a blocked event loop
    // each, so that a proxy dropping its connections stalls every other call past its deadline.
    const secureContext = tls.createSecureContext({
      minVersion: 'TLSv1.2',
      ...(config.ca && config.ca.length > 0 ? { ca: [...tls.rootCertificates, ...config.ca] } : {}),
    });
    // `timeout` is the idle bound: Node's agent closes a free socket whose timeout fires, and leaves a
    // busy one to the call's own deadline.
    this.agent = new https.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: MAX_IDLE_CONNECTIONS, timeout: config.idleMs ?? XKS_IDLE_MS, secureContext, lookup: sharedLookup });
  }

  /** Closes the kept-alive connections, and fails the calls in progress (the store disconnected, or the appliance sealed). */
  close(): void {
    this.closed = true;
    this.destroy();
  }

  /**
   * Takes no more calls and closes the connections once the calls in progress have ended, each by its
   * deadline: the store goes on with new proxy settings (UpdateCustomKeyStore), and the calls that began
   * with the old ones are not failed for it.
   */
  retire(): void {
    this.closed = true;
    if (this.inFlight === 0) this.destroy();
  }

  private destroy(): void {
    this.destroyed = true;
    this.agent.destroy();
  }

  /** Its connections are closed for good: closed, or retired and its last call over. */
  get finished(): boolean {
    return this.destroyed;
  }

  /**
   * GetHealthStatus. Every member of the answer is required (the spec: xksProxyFleetSize an integer
   * greater than zero, xksProxyVendor, xksProxyModel, ekmVendor, and one to ten ekmFleetDetails of id,
   * model and a healthStatus of ACTIVE, DEGRADED or UNAVAILABLE): any other answer is malformed, which
   * AWS KMS reports as XksProxyInvalidResponseException.
   */
  async health(meta: Pick<XksRequestMetadata, 'kmsOperation' | 'kmsRequestId'>): Promise<XksHealth> {
    const body = await this.call('/health', { requestMetadata: meta });
    const size = body.xksProxyFleetSize;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 1) {
      throw new XksProxyError('INVALID_RESPONSE', "The XKS proxy's health status has no xksProxyFleetSize greater than zero.");
    }
    for (const name of ['xksProxyVendor', 'xksProxyModel', 'ekmVendor']) {
      if (typeof body[name] !== 'string') throw new XksProxyError('INVALID_RESPONSE', `The XKS proxy's health status has no ${name}.`);
    }
    const fleet = body.ekmFleetDetails;
    if (!Array.isArray(fleet) || fleet.length < 1 || fleet.length > MAX_EKMS) {
      throw new XksProxyError('INVALID_RESPONSE', `The XKS proxy's health status does not have one to ${MAX_EKMS} ekmFleetDetails.`);
    }
    const details = fleet.map((e: unknown) => {
      if (!isObject(e) || typeof e.id !== 'string' || typeof e.model !== 'string' || typeof e.healthStatus !== 'string' || !EKM_HEALTH.has(e.healthStatus)) {
        throw new XksProxyError('INVALID_RESPONSE', "An ekmFleetDetails entry of the XKS proxy's health status lacks an id, a model or a healthStatus of ACTIVE, DEGRADED or UNAVAILABLE.");
      }
      return { id: e.id, model: e.model, healthStatus: e.healthStatus };
    });
    return { ekmFleetDetails: details };
  }

  async metadata(externalKeyId: string, meta: XksRequestMetadata): Promise<XksKeyMetadata> {
    const body = await this.call(`/keys/${encodeURIComponent(externalKeyId)}/metadata`, { requestMetadata: meta });
    const { keySpec, keyUsage, keyStatus } = body;
    if (typeof keySpec !== 'string' || typeof keyStatus !== 'string' || !Array.isArray(keyUsage) || !keyUsage.every((u) => typeof u === 'string')) {
      throw new XksProxyError('INVALID_RESPONSE', "The XKS proxy's key metadata lacks keySpec, keyUsage or keyStatus.");
    }
    // The spec: keyStatus is ENABLED or DISABLED, and there are at most ten keyUsage values.
    if (!KEY_STATUSES.has(keyStatus) || keyUsage.length > MAX_KEY_USAGES) {
      throw new XksProxyError('INVALID_RESPONSE', "The XKS proxy's key metadata has a keyStatus other than ENABLED or DISABLED, or more than ten keyUsage values.");
    }
    return { keySpec, keyUsage: keyUsage as string[], keyStatus };
  }

  /** AES-GCM under the external key, with this AAD; the answer's integrity value is checked. */
  async encrypt(externalKeyId: string, input: { plaintext: Uint8Array; aad: Uint8Array }, meta: XksRequestMetadata): Promise<XksSealedByProxy> {
    const body = await this.call(`/keys/${encodeURIComponent(externalKeyId)}/encrypt`, {
      requestMetadata: meta,
      plaintext: Buffer.from(input.plaintext).toString('base64'),
      encryptionAlgorithm: 'AES_GCM',
      additionalAuthenticatedData: Buffer.from(input.aad).toString('base64'),
      ciphertextDataIntegrityValueAlgorithm: 'SHA_256',
    });
    const sealed: XksSealedByProxy = {
      ciphertext: b64(body, 'ciphertext')!,
      iv: b64(body, 'initializationVector')!,
      tag: b64(body, 'authenticationTag')!,
      ciphertextMetadata: b64(body, 'ciphertextMetadata', true),
    };
    if ((sealed.iv.length !== 12 && sealed.iv.length !== 16) || sealed.tag.length !== 16 || (sealed.ciphertextMetadata?.length ?? 0) > 20) {
      throw new XksProxyError('INVALID_RESPONSE', "The XKS proxy's ciphertext has an IV, tag or ciphertextMetadata of the wrong size.");
    }
    // AES-GCM's ciphertext is as long as its plaintext: a shorter or longer one could never be decrypted.
    if (sealed.ciphertext.length !== input.plaintext.length) {
      throw new XksProxyError('INVALID_RESPONSE', `The XKS proxy's ciphertext is ${sealed.ciphertext.length} bytes for ${input.plaintext.length} bytes of plaintext.`);
    }
    // Asked for, so required (the spec: the proxy MUST return it): it proves the answer whole before the
    // ciphertext is kept.
    const cdiv = b64(body, 'ciphertextDataIntegrityValue', true);
    if (cdiv === undefined) throw new XksProxyError('INVALID_RESPONSE', 'The XKS proxy answered without the ciphertext data integrity value Kura asked for.');
    const h = createHash('sha256').update(input.aad);
    if (sealed.ciphertextMetadata) h.update(sealed.ciphertextMetadata);
    const expected = h.update(sealed.iv).update(sealed.ciphertext).update(sealed.tag).digest();
    if (!expected.equals(cdiv)) throw new XksProxyError('INVALID_RESPONSE', "The XKS proxy's ciphertext data integrity value does not match its ciphertext.");
    return sealed;
  }

  async decrypt(externalKeyId: string, input: XksSealedByProxy & { aad: Uint8Array }, meta: XksRequestMetadata): Promise<Buffer> {
    const body = await this.call(`/keys/${encodeURIComponent(externalKeyId)}/decrypt`, {
      requestMetadata: meta,
      ciphertext: input.ciphertext.toString('base64'),
      ...(input.ciphertextMetadata ? { ciphertextMetadata: input.ciphertextMetadata.toString('base64') } : {}),
      encryptionAlgorithm: 'AES_GCM',
      additionalAuthenticatedData: Buffer.from(input.aad).toString('base64'),
      initializationVector: input.iv.toString('base64'),
      authenticationTag: input.tag.toString('base64'),
    });
    const plaintext = b64(body, 'plaintext')!;
    // The spec: the plaintext is as long as the ciphertext (AES-GCM); any other is not a decryption.
    if (plaintext.length !== input.ciphertext.length) {
      plaintext.fill(0);
      throw new XksProxyError('INVALID_RESPONSE', `The XKS proxy's plaintext is ${plaintext.length} bytes for ${input.ciphertext.length} bytes of ciphertext.`);
    }
    return plaintext;
  }

  /** One signed POST with the deadline; the parsed answer of a 200, or an XksProxyError. */
  private call(route: string, request: unknown): Promise<Record<string, unknown>> {
    // A call that began before the store disconnected opens no connection that nothing would close.
    if (this.closed) return Promise.reject(new XksProxyError('NOT_REACHABLE', 'The connection to the XKS proxy is closed: the external key store was disconnected.'));
    const path = `${this.basePath}${route}`;
    const text = JSON.stringify(request);
    // Signed as AWS KMS signs XKS calls (the spec's Appendix A): SignedHeaders=host;x-amz-date, the body
    // in the canonical request's payload hash; Content-Type is sent but not signed.
    const signed = signRequest({
      method: 'POST',
      host: this.host,
      path,
      body: text,
      accessKeyId: this.config.accessKeyId,
      secretAccessKey: this.config.secretAccessKey,
      region: this.config.region,
      service: SERVICE,
      nowMs: this.nowMs(),
      contentSha256Header: false,
    });
    const target = this.config.connectTo ?? { host: this.tlsHost, port: 443 };
    const options: https.RequestOptions = {
      agent: this.agent,
      host: target.host,
      port: target.port,
      ...this.tlsName,
      method: 'POST',
      path,
      headers: { ...signed, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)) },
    };
    this.inFlight++;
    return new Promise((resolve, reject) => {
      let settled = false;
      let req: ClientRequest | undefined;
      const finish = (f: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(deadline);
        this.inFlight--;
        if (this.closed && this.inFlight === 0 && !this.destroyed) this.destroy();
        f();
      };
      const deadline = setTimeout(() => {
        finish(() => reject(new XksProxyError('TIMED_OUT', `The XKS proxy did not answer within ${this.timeoutMs} ms.`)));
        req?.destroy();
      }, this.timeoutMs);
      const send = () => {
        let answered = false;
        const malformed = (message: string) => {
          sent.destroy();
          finish(() => reject(new XksProxyError('INVALID_RESPONSE', message)));
        };
        const tooLarge = `The XKS proxy's answer is larger than ${MAX_RESPONSE_BYTES} bytes.`;
        const sent = https.request(options, (res) => {
          answered = true;
          // Said too large up front: refused now, not read until the deadline names it a timeout.
          if (Number(res.headers['content-length'] ?? 0) > MAX_RESPONSE_BYTES) return malformed(tooLarge);
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE_BYTES) return malformed(tooLarge);
            chunks.push(c);
          });
          res.on('error', (e) => finish(() => reject(failureOfSocketError(e))));
          res.on('end', () => finish(() => {
            try {
              resolve(this.answer(res.statusCode ?? 0, Buffer.concat(chunks)));
            } catch (e) {
              reject(e);
            }
          }));
        });
        req = sent;
        // A 101 Switching Protocols to a request that asked for no upgrade: Node hands over the socket and
        // the request would wait for the deadline.
        sent.on('upgrade', (_res, socket: Duplex) => {
          socket.destroy();
          malformed('The XKS proxy answered HTTP 101, switching protocols.');
        });
        sent.on('error', (e) => {
          // A kept-alive connection the proxy had closed (it restarted, or its idle timeout crossed this
          // request): nothing came back on it, so the call goes again, within the same deadline. The XKS
          // calls change nothing at the proxy, so one that reached it may be repeated. Each retry uses up
          // one pooled connection; a new connection's failure is the call's.
          if (!settled && !this.destroyed && !answered && sent.reusedSocket && STALE_CONNECTION_CODES.has(errorCode(e))) return attempt();
          finish(() => reject(failureOfSocketError(e)));
        });
        sent.end(text);
      };
      // Node refuses at once a request it cannot send (a URI path with a space, say): that is the call's
      // failure, not an exception escaping it while its deadline is left to fire on no request.
      const attempt = () => {
        try {
          send();
        } catch (e) {
          const said = e instanceof Error ? e.message.slice(0, MAX_NODE_MESSAGE) : String(e);
          finish(() => reject(new XksProxyError('INVALID_CONFIGURATION', `The request to the XKS proxy cannot be sent: ${said}`)));
        }
      };
      attempt();
    });
  }

  private answer(status: number, raw: Buffer): Record<string, unknown> {
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      body = undefined;
    }
    if (status === 200) {
      if (!isObject(body)) throw new XksProxyError('INVALID_RESPONSE', 'The XKS proxy answered 200 without a JSON object.', undefined, status);
      return body;
    }
    // An errorName is the proxy's word too: one that is not shaped like the spec's names is not repeated.
    const named = isObject(body) && typeof body.errorName === 'string' ? body.errorName : undefined;
    const errorName = named === undefined ? undefined : /^[A-Za-z]{1,64}$/.test(named) ? named : 'an unnamed error';
    // The proxy's own words go to the log only: AWS KMS logs them and returns its own message to callers.
    if (isObject(body) && typeof body.errorMessage === 'string') {
      this.config.log?.warn('xks proxy error', { uriPath: this.basePath, status, errorName, errorMessage: body.errorMessage.slice(0, 512) });
    }
    if (errorName === 'AuthenticationFailedException' || errorName === 'AccessDeniedException' || (!errorName && (status === 401 || status === 403))) {
      return this.fail('ACCESS_DENIED', `The XKS proxy refused Kura's credential (${errorName ?? `HTTP ${status}`}).`, errorName, status);
    }
    if (errorName === 'InvalidUriPathException' || (!errorName && (status === 404 || status === 405))) {
      return this.fail('INVALID_CONFIGURATION', `The XKS proxy does not serve ${this.basePath} (${errorName ?? `HTTP ${status}`}).`, errorName, status);
    }
    if (!errorName) return this.fail('INVALID_RESPONSE', `The XKS proxy answered HTTP ${status} without an errorName.`, undefined, status);
    return this.fail('PROXY_ERROR', `The XKS proxy answered ${errorName}.`, errorName, status);
  }

  private fail(kind: XksFailureKind, message: string, errorName: string | undefined, status: number): never {
    throw new XksProxyError(kind, message, errorName, status);
  }
}

// Custom key stores of type AWS_CLOUDHSM, live: which are connected now, to which token, and what
// happens when a token goes away. The KMS domain declares here what it needs of an HSM (the HsmConnector
// port, implemented by main/keystores/hsm and handed in by ./wiring.ts), so that kms/ never loads a
// PKCS#11 module itself and its tests can use a fake token.
//
// A connected store is registered in the KeyStoreRegistry under its custom key store ID (its keys are
// then usable); a disconnected, failed or sealed one is not (its keys read as Unavailable). The
// connection state AWS shows (DescribeCustomKeyStores) is the stored one — CONNECTED, FAILED with its
// ConnectionErrorCode, DISCONNECTED — written by ./operations/custom-key-stores.ts through the unit of
// work; this class tells it when a token fails mid-use. The appliance sealing closes every connection
// (the PINs are sealed with the root key) without changing the stored state; unsealing reconnects the
// stores that are stored as CONNECTED. Each connect first logs the keys on the token that no KMS key
// uses (reportOrphans): what a process killed between the token and the database leaves there; a
// connected store's token keys are listed for `kura hsm keys` by ./hsm-token-keys.ts (tokenKeys).
import { isKmsError, KmsError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { TOKEN_KEYS_LISTED, type HsmConnectionErrorCode, type HsmTokenConfig, type HsmTokenInfo, type TokenKey } from '../keystores/hsm/index.js';
import type { ConnectionState, KeyStore, KeyStoreRegistry } from '../keystores/key-store.js';
import { encodeAad } from '../seal/at-rest.js';
import type { RootKeyHolder } from '../seal/root-key.js';
import type { CustomKeyStoreRecord, HsmRecord, Store } from '../store/index.js';
import { classifyTokenKeys } from './hsm-token-keys.js';

// The token's settings, what it says of itself and AWS's ConnectionErrorCode values are the HSM key
// store's own types (main/keystores/hsm), used here as they are.
export type { HsmConnectionErrorCode, HsmTokenConfig, HsmTokenInfo, TokenKey };

/** A key store on a logged-in token. */
export interface ConnectedHsm extends KeyStore {
  /** Random bytes from the token's own generator. */
  generateRandom(bytes: number): Promise<Buffer>;
  failure(): HsmConnectionErrorCode | undefined;
  onFailure(listener: (code: HsmConnectionErrorCode) => void): void;
  close(): Promise<void>;
  /** The token's secret keys, by label and CKA_ID (never a value); a connector may not say. */
  tokenKeys?(): Promise<TokenKey[]>;
}

/** What kms/ needs of HSMs; main/keystores/hsm implements it. Both throw an error with an HsmConnectionErrorCode as `code`. */
export interface HsmConnector {
  probe(config: HsmTokenConfig): Promise<HsmTokenInfo>;
  connect(config: HsmTokenConfig & { pin: string }): Promise<ConnectedHsm>;
}

/** Every HsmConnectionErrorCode (the Record makes the list exhaustive). */
const CONNECTION_ERROR_CODES: ReadonlySet<string> = new Set(
  Object.keys({
    INVALID_CREDENTIALS: 1,
    USER_LOCKED_OUT: 1,
    USER_LOGGED_IN: 1,
    USER_NOT_FOUND: 1,
    CLUSTER_NOT_FOUND: 1,
    INSUFFICIENT_CLOUDHSM_HSMS: 1,
    NETWORK_ERRORS: 1,
    INTERNAL_ERROR: 1,
  } satisfies Record<HsmConnectionErrorCode, 1>),
);

/** The ConnectionErrorCode an HSM connector's error carries; INTERNAL_ERROR for anything else. */
export function connectionErrorCodeOf(e: unknown): HsmConnectionErrorCode {
  const code = e !== null && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : '';
  return CONNECTION_ERROR_CODES.has(code) ? (code as HsmConnectionErrorCode) : 'INTERNAL_ERROR';
}

/** The settings of an AWS_CLOUDHSM store, as kept in CustomKeyStoreRecord.config. */
export interface HsmStoreConfig {
  /** The token's user PIN (AWS: KeyStorePassword), sealed under the root key, base64. */
  pinSealed: string;
  trustAnchorCertificate: string;
  /** Why the last connection attempt failed (AWS ConnectionErrorCode), while the store is FAILED. */
  connectionErrorCode?: HsmConnectionErrorCode;
}

export const hsmStoreConfig = (c: CustomKeyStoreRecord): HsmStoreConfig => c.config as unknown as HsmStoreConfig;

const pinAad = (storeId: string) => encodeAad('kura/custom-key-store/pin/v1', storeId);

/** A registered HSM's token: its module, label and the serial number `kura hsm add` found, which a connect requires of it. */
export const tokenConfigOf = (h: HsmRecord): HsmTokenConfig => ({
  modulePath: h.modulePath,
  tokenLabel: h.tokenLabel,
  ...(h.libraryParameters !== null ? { libraryParameters: h.libraryParameters } : {}),
  serialNumber: h.serialNumber,
});

/**
 * Logs in to a registered HSM with a PIN kept sealed under the root key, opened only for the login.
 * Throws what the connector throws (an error with an HsmConnectionErrorCode).
 */
export function connectWithSealedPin(deps: { root: RootKeyHolder; connector: HsmConnector }, hsm: HsmRecord, pinSealed: Uint8Array, aad: Uint8Array): Promise<ConnectedHsm> {
  // pkcs11js takes the PIN as a string: that copy cannot be wiped (SECURITY.md).
  const pin = deps.root.credentialSealer().openText(pinSealed, aad);
  return deps.connector.connect({ ...tokenConfigOf(hsm), pin });
}

/** How many keys no KMS key uses a connect names in the log, one line each; the rest are counted. */
export const ORPHANS_NAMED = 20;

export interface HsmConnectionsDeps {
  store: Pick<Store, 'db' | 'customKeyStores' | 'hsms' | 'keys' | 'xks'>;
  registry: KeyStoreRegistry;
  root: RootKeyHolder;
  connector: HsmConnector;
  log: Logger;
}

export class HsmConnections {
  private readonly live = new Map<string, ConnectedHsm>();
  private readonly failedListeners: ((storeId: string, code: HsmConnectionErrorCode) => void)[] = [];
  constructor(private readonly deps: HsmConnectionsDeps) {
    deps.root.onSeal(() => void this.closeAll());
  }

  get connector(): HsmConnector {
    return this.deps.connector;
  }

  sealPin(storeId: string, pin: string): string {
    return this.deps.root.credentialSealer().sealText(pin, pinAad(storeId)).toString('base64');
  }

  /** The live state of a store: CONNECTED only while its connection is open and well. */
  state(c: CustomKeyStoreRecord): { state: ConnectionState; errorCode?: HsmConnectionErrorCode } {
    const conn = this.live.get(c.id);
    if (conn) {
      const failed = conn.failure();
      return failed ? { state: 'FAILED', errorCode: failed } : { state: conn.connectionState() };
    }
    if (c.connectionState === 'FAILED') return { state: 'FAILED', errorCode: hsmStoreConfig(c).connectionErrorCode ?? 'INTERNAL_ERROR' };
    // Stored as CONNECTED but not open here (the appliance is sealed, or still reconnecting): not usable.
    return { state: c.connectionState === 'CONNECTED' ? 'CONNECTING' : c.connectionState };
  }

  /**
   * Opens a store's token with its PIN and registers it. Never throws for the token's own reasons: the
   * outcome is the state returned (CONNECTED, or FAILED with the code), as AWS reports a failed connection
   * in DescribeCustomKeyStores rather than in ConnectCustomKeyStore's answer. Throws Sealed when the
   * appliance is sealed, or sealed while the token connected (that connection is closed again: a sealed
   * appliance keeps no token logged in).
   */
  async open(c: CustomKeyStoreRecord): Promise<{ state: 'CONNECTED' | 'FAILED'; errorCode?: HsmConnectionErrorCode }> {
    await this.close(c.id);
    const seals = this.deps.root.sealCount;
    const hsm = c.hsmId === null ? undefined : await this.deps.store.hsms.find(c.hsmId);
    if (!hsm) return { state: 'FAILED', errorCode: 'CLUSTER_NOT_FOUND' };
    let conn: ConnectedHsm;
    try {
      conn = await connectWithSealedPin(this.deps, hsm, Buffer.from(hsmStoreConfig(c).pinSealed, 'base64'), pinAad(c.id));
    } catch (e) {
      if (isKmsError(e) && e.code === 'Sealed') throw e;
      const errorCode = connectionErrorCodeOf(e);
      this.deps.log.warn('custom key store connection failed', { customKeyStoreId: c.id, errorCode });
      return { state: 'FAILED', errorCode };
    }
    // Before the store takes calls: a key a CreateKey in it makes from now on is not committed yet.
    await this.reportOrphans(c, conn);
    if (!this.deps.root.unsealedSince(seals)) {
      await conn.close().catch(() => undefined);
      throw new KmsError('Sealed', `Kura was sealed while custom key store ${c.id} connected to its token; connect it again once Kura is unsealed.`);
    }
    // The token failed during the scan, before anyone listened for it: the connect failed.
    const failedMeanwhile = conn.failure();
    if (failedMeanwhile) {
      await conn.close().catch(() => undefined);
      this.deps.log.warn('custom key store connection failed', { customKeyStoreId: c.id, errorCode: failedMeanwhile });
      return { state: 'FAILED', errorCode: failedMeanwhile };
    }
    conn.onFailure((code) => void this.failed(c.id, conn, code));
    // Registered first: a store registered already (which the callers' one change per store at a time
    // rules out) keeps its connection, and this one is closed.
    try {
      this.deps.registry.register(c.id, conn);
    } catch (e) {
      await conn.close().catch(() => undefined);
      throw e;
    }
    this.live.set(c.id, conn);
    return { state: 'CONNECTED' };
  }

  /**
   * Logs, by label and CKA_ID, each key on the token that is labelled as Kura labels its keys and that no
   * KMS key or XKS proxy key of this appliance holds as its material (./hsm-token-keys.ts): one whose
   * CreateKey was cut off between the token and the database (the process killed, a discard that failed),
   * or whose key was deleted while its token could not be reached (../jobs/due.ts). Kura never destroys what it did
   * not commit: they are the operator's to check and remove (AWS: orphaned keys in a CloudHSM cluster,
   * found by their label). A scan the token refuses is logged and the connect goes on; a token that
   * fails during it fails the connect (open()).
   */
  private async reportOrphans(c: CustomKeyStoreRecord, conn: ConnectedHsm): Promise<void> {
    if (!conn.tokenKeys) return;
    const storeId = c.id;
    try {
      const listed = await conn.tokenKeys();
      if (listed.length >= TOKEN_KEYS_LISTED) this.deps.log.warn('HSM token holds more keys than a connect looks through', { customKeyStoreId: storeId, looked: listed.length });
      const orphans = (await classifyTokenKeys(this.deps.store, c.hsmId, listed)).filter((k) => k.usedBy.kind === 'orphan');
      // A token another appliance shares holds thousands: each connect names the first few, and counts.
      for (const k of orphans.slice(0, ORPHANS_NAMED)) this.deps.log.warn('HSM token key that no KMS key of this appliance uses', { customKeyStoreId: storeId, label: k.label, ckaId: k.ckaId });
      if (orphans.length > ORPHANS_NAMED) {
        this.deps.log.warn('HSM token keys that no KMS key of this appliance uses: more than were named', { customKeyStoreId: storeId, found: orphans.length, named: ORPHANS_NAMED });
      }
    } catch (e) {
      this.deps.log.warn('looking for HSM token keys that no KMS key uses failed', { customKeyStoreId: storeId, error: e instanceof Error ? e.name : typeof e });
    }
  }

  /**
   * The secret keys on a connected store's token (never a value), at most TOKEN_KEYS_LISTED: `truncated`
   * when there may be more. Throws for a store not connected here, or a connector that cannot list.
   */
  async tokenKeys(storeId: string): Promise<{ keys: TokenKey[]; truncated: boolean }> {
    const conn = this.live.get(storeId);
    if (!conn) throw new KmsError('CustomKeyStoreInvalidState', `Custom key store ${storeId} is not connected: connect it first.`);
    if (!conn.tokenKeys) throw new KmsError('UnsupportedOperation', `The token of custom key store ${storeId} cannot list its keys.`);
    const keys = await conn.tokenKeys();
    return { keys, truncated: keys.length >= TOKEN_KEYS_LISTED };
  }

  /** Closes a store's connection, if open; its keys become Unavailable. */
  async close(storeId: string): Promise<void> {
    const conn = this.live.get(storeId);
    if (!conn) return;
    this.live.delete(storeId);
    this.deps.registry.unregister(storeId);
    try {
      await conn.close();
    } catch (e) {
      this.deps.log.warn('closing an HSM connection failed', { customKeyStoreId: storeId, error: e instanceof Error ? e.name : typeof e });
    }
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.live.keys()].map((id) => this.close(id)));
  }

  /** Called when a token fails mid-use (after its connection is closed here): the owner records it. */
  onFailed(listener: (storeId: string, code: HsmConnectionErrorCode) => void): void {
    this.failedListeners.push(listener);
  }

  /** A token failed mid-use: the connection goes (its keys are Unavailable until reconnected), and the owner records FAILED. */
  private async failed(storeId: string, conn: ConnectedHsm, code: HsmConnectionErrorCode): Promise<void> {
    if (this.live.get(storeId) !== conn) return;
    this.deps.log.error('HSM token failed; its custom key store is FAILED', { customKeyStoreId: storeId, errorCode: code });
    await this.close(storeId);
    for (const l of this.failedListeners) l(storeId, code);
  }

  /** Random bytes from a connected store's token. */
  random(storeId: string, bytes: number): Promise<Buffer> {
    const conn = this.live.get(storeId);
    if (!conn) throw new Error(`custom key store ${storeId} is not open`);
    return conn.generateRandom(bytes);
  }

  isOpen(storeId: string): boolean {
    return this.live.has(storeId);
  }
}

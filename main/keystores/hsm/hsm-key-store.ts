// The HSM key store (DESIGN.md, "HSM key stores (PKCS#11)"): Kura's counterpart of an AWS CloudHSM key
// store. Its keys are non-extractable, sensitive AES-256 objects generated on a PKCS#11 token, and its
// cryptography runs on the token: a version-2 blob's key is derived on the token from the key
// (CKM_AES_CBC_ENCRYPT_DATA over an input computed from the blob's SP 800-108 inputs, ./material-ref.ts),
// once per epoch of blobs and kept as a session object of the login (./blob-keys.ts), and AES-GCM runs
// under it on the token. No key byte is ever in Kura's memory. Like AWS custom key stores it holds only
// SYMMETRIC_DEFAULT keys and takes no imports.
//
// Lifecycle: connectHsmKeyStore (./connect.ts) logs in and opens the session pool → CONNECTED. A token
// that goes away mid-use (removed, device error; SoftHSM: its files deleted) fails the call with
// KeyUnavailable, turns the store FAILED with an AWS ConnectionErrorCode (failure()), and runs the
// onFailure listeners once; the KMS domain then disconnects it. close() logs out, closes every session
// and releases the module → DISCONNECTED. forgetAll() (the appliance sealed) drops the cached handles,
// refuses every call with Sealed from then on, and closes the store: a sealed appliance keeps no
// logged-in session; unsealing reconnects with the PIN.
//
// One login, several stores: PKCS#11 logs an application in once per token, so the stores of one
// process on one token (an AWS_CLOUDHSM custom key store and an XKS proxy store, say) share a login.
// Each connect hands out an HsmKeyStore of its own over the one shared connection (retain(), called by
// ./connect.ts): its close() gives back its own share only, and the last one logs out. The connection's
// state (connected, failed, sealed, handles) is the shared part; the failure listeners are each
// store's own. forgetAll() closes the connection for every store on it, as the appliance sealing must.
//
// One file, past 450 lines: everything here reads or changes the one shared connection (its state,
// cached handles, blob keys, presence checks, failure), and each operation turns the token's failures
// into that state the same way (onToken, withKey, translate); split, the connection's invariants would
// be kept in two places. The PKCS#11 calls themselves are ../../devices/pkcs11's.
import { isKmsError, KmsError, kmsErrors } from '../../common/errors.js';
import { errorFields, type Logger } from '../../common/log.js';
import { AeadAuthenticationError } from '../../crypto/aead.js';
import { randomBytes } from '../../crypto/bytes.js';
import {
  BLOB_TOKEN_KEY_USES,
  GCM_TAG_BYTES,
  madeAsAsked,
  meaningOf,
  Pkcs11CallError,
  PoolClosedError,
  TOKEN_GONE,
  type Pkcs11Module,
  Pkcs11Session,
  type Pkcs11Token,
  type SecretKeyAttributes,
  type SessionPool,
} from '../../devices/pkcs11/index.js';
import type { Handle } from 'pkcs11js';
import { CustomKeyStoreBase, SYMMETRIC_DEFAULT } from '../custom-key-store-base.js';
import type { BlobPayload, ConnectionState, KeyStore, KeyStoreSpec, NewMaterial, StoredMaterial } from '../key-store.js';
import { connectionCodeOf, type HsmConnectionErrorCode } from './connection-error.js';
import { blobKeyInput, CKA_ID_BYTES, decodeMaterialRef, encodeMaterialRef, materialIdOf } from './material-ref.js';
import { BlobKeys } from './blob-keys.js';

const BLOB_KEY_BYTES = 32;


export interface HsmParts {
  module: Pkcs11Module;
  token: Pkcs11Token;
  /** The session that holds the login (never used for cryptography, so never closed by the pool). */
  loginSession: Handle;
  pool: SessionPool<Pkcs11Session>;
  log: Logger;
  /**
   * Told once when the connection takes no more stores (it failed, or it is closing), with a promise
   * settled once it has logged out: ./connect.ts then forgets it, and waits for the logout before
   * logging in to the token again.
   */
  onEnd?: (loggedOut: Promise<void>) => void;
}

/** The part every HsmKeyStore on one login shares. */
interface Connection {
  state: ConnectionState;
  failed: HsmConnectionErrorCode | undefined;
  sealed: boolean;
  closing: Promise<void> | undefined;
  ended: boolean;
  /** Object handles by CKA_ID (hex), valid while this connection lasts. */
  readonly handles: Map<string, Handle>;
  /** Blob keys derived per epoch, objects of the login session (./blob-keys.ts). */
  readonly blobKeys: BlobKeys;
  /** When a call last asked the token whether it is still there (PRESENCE_CHECK_MS). */
  presenceCheckedAt: number;
  /** When an encryption last looked each material's token key up (by CKA_ID, hex; see recheckKey). */
  readonly keysCheckedAt: Map<string, number>;
  /** The stores open on it; the last one to close logs out. */
  readonly holders: Set<HsmKeyStore>;
}

/** A secret key on the token, as tokenKeys() lists it. */
export interface TokenKey {
  label: string;
  /** CKA_ID, hex. */
  ckaId: string;
  /** The material ID of a key Kura made with this CKA_ID (./material-ref.ts). */
  materialId: string;
}

/** The most keys tokenKeys() lists. */
export const TOKEN_KEYS_LISTED = 10_000;

/** How often calls check that the token is still there (see checkPresence). */
export const PRESENCE_CHECK_MS = 250;

export class HsmKeyStore extends CustomKeyStoreBase implements KeyStore {
  readonly type = 'AWS_CLOUDHSM' as const;
  private readonly c: Connection;
  /** Set by this store's close(): its share of the connection is given back. */
  private released: Promise<void> | undefined;
  private readonly listeners: ((code: HsmConnectionErrorCode) => void)[] = [];

  constructor(
    private readonly parts: HsmParts,
    shared?: Connection,
  ) {
    super('An HSM key store');
    this.c = shared ?? {
      state: 'CONNECTED',
      failed: undefined,
      sealed: false,
      closing: undefined,
      ended: false,
      handles: new Map(),
      blobKeys: new BlobKeys({ login: new Pkcs11Session(parts.token, parts.loginSession) }),
      presenceCheckedAt: performance.now(),
      keysCheckedAt: new Map(),
      holders: new Set(),
    };
    this.c.holders.add(this);
  }

  /**
   * Another store on this store's login (./connect.ts: the same token connected again with the same
   * PIN). Undefined when the connection takes no more stores (failed, sealed or closing).
   */
  retain(): HsmKeyStore | undefined {
    if (this.c.state !== 'CONNECTED' || this.c.sealed || this.c.holders.size === 0) return undefined;
    // Its module's host stopped while no call was waiting on it: the login went with it.
    if (this.parts.module.gone) {
      this.fail('INSUFFICIENT_CLOUDHSM_HSMS', 'the PKCS#11 module host stopped');
      return undefined;
    }
    return new HsmKeyStore(this.parts, this.c);
  }

  /** How many stores share this store's login now (1 when none else). */
  get sharedBy(): number {
    return this.c.holders.size;
  }

  /**
   * Whether this process has seen the module's host process end (a module that runs in one: stuck and
   * killed, or dead). Until it has, a connect may still find this store's login; once it has, the next
   * connect fails this store and starts a new host.
   */
  get hostGone(): boolean {
    return this.parts.module.gone;
  }

  /** The token's label (what the operator registered). */
  get tokenLabel(): string {
    return this.parts.token.label;
  }

  connectionState(): ConnectionState {
    // A store closed while others keep the login open is disconnected, whatever the connection's state.
    return this.released && this.c.holders.size > 0 ? 'DISCONNECTED' : this.c.state;
  }

  /** Why the store is FAILED; undefined when it is not. */
  failure(): HsmConnectionErrorCode | undefined {
    return this.connectionState() === 'FAILED' ? this.c.failed : undefined;
  }

  /** Runs once, when the token goes away mid-use. */
  onFailure(listener: (code: HsmConnectionErrorCode) => void): void {
    this.listeners.push(listener);
  }

  /** Sessions of the pool now: open, busy, callers waiting. */
  sessionStats(): { open: number; busy: number; waiting: number; max: number } {
    return { ...this.parts.pool.stats(), max: this.parts.pool.size };
  }

  async generate(keyId: string, spec: KeyStoreSpec, hints?: { label?: string }): Promise<NewMaterial> {
    if (!this.supports(spec)) throw this.unsupported(`hold keys of key spec ${spec}`);
    this.requireUsable();
    const id = randomBytes(CKA_ID_BYTES);
    const label = hints?.label ?? `kura:${keyId}`;
    const handle = await this.onToken(async (s) => {
      const made = await s.generateAesKey(label, id);
      // A key whose check fails is no key of Kura's: destroyed (if the token lets it), not left on the token
      // with no row to name it, since the caller is answered an error and no discard will ever see it.
      const attributes = await s.readAttributes(made).catch(async (e: unknown) => {
        await s.destroyObject(made).catch(() => undefined);
        throw e;
      });
      // The template asks, the token decides: a key it made otherwise (modifiable, able to encrypt …) is not used.
      if (!madeAsAsked(attributes, BLOB_TOKEN_KEY_USES)) {
        await s.destroyObject(made);
        throw new KmsError('CloudHsmClusterInvalidConfiguration', `The HSM token "${this.parts.token.label}" did not make a sensitive, non-extractable, non-modifiable derive-only AES-256 key as asked, so Kura destroyed it.`);
      }
      return made;
    }, false);
    this.c.handles.set(id.toString('hex'), handle);
    return { materialId: materialIdOf(id), ref: encodeMaterialRef(id), publicKey: null };
  }

  /**
   * The header nonce of a material's next blob: the same for an epoch of blobs (./blob-keys.ts), so that
   * they share one key derived on the token, each with its own random IV.
   */
  blobNonce(m: StoredMaterial, bytes: number): Uint8Array {
    this.requireSymmetric(m, 'encrypt a blob');
    return this.c.blobKeys.nonce(decodeMaterialRef(m.ref).toString('hex'), bytes);
  }

  async encryptBlobPayload(m: StoredMaterial, payload: BlobPayload, plaintext: Uint8Array): Promise<Buffer> {
    this.requireSymmetric(m, 'encrypt a blob');
    if (payload.version !== 2 || payload.derivation === null) throw this.unsupported('write ciphertext blobs of version 1');
    const input = this.blobKeyInput(payload.derivation);
    this.requireUsable();
    return this.withKey(m.ref, false, async (s, key, id) => s.encryptAesGcm(await this.blobKey(id, key, input), payload.iv, payload.aad, plaintext));
  }

  /** A blob key: derived on the token once per epoch and input, as a login-session object (./blob-keys.ts). */
  private blobKey(id: string, key: Handle, input: Buffer): Promise<Handle> {
    return this.c.blobKeys.get(id, key, input, (login, base, data) => login.deriveBlobKey(base, data));
  }

  async decryptBlobPayload(m: StoredMaterial, payload: BlobPayload, sealed: Uint8Array): Promise<Buffer> {
    this.requireSymmetric(m, 'decrypt a blob');
    // Version 1 used the material itself as the GCM key: only the standard store ever wrote it.
    if (payload.version !== 2) throw this.unsupported('read ciphertext blobs of version 1');
    if (payload.derivation === null || sealed.length < GCM_TAG_BYTES) throw new AeadAuthenticationError();
    const input = this.blobKeyInput(payload.derivation);
    this.requireUsable();
    return this.withKey(m.ref, true, async (s, key, id) => s.decryptAesGcm(await this.blobKey(id, key, input), payload.iv, payload.aad, sealed));
  }

  /** Destroys the token object; one that is not there any more is fine. */
  async destroy(m: Pick<StoredMaterial, 'keyId' | 'materialId' | 'ref'>): Promise<void> {
    const id = decodeMaterialRef(m.ref);
    this.requireUsable();
    this.c.handles.delete(id.toString('hex'));
    this.c.keysCheckedAt.delete(id.toString('hex'));
    this.c.blobKeys.drop(id.toString('hex'));
    await this.onToken(async (s) => {
      const found = await s.findSecretKeys(id);
      if (found.length === 0 && !(await s.token.present())) throw new Pkcs11CallError('C_FindObjects', undefined, 'token-absent');
      for (const h of found) await s.destroyObject(h);
    }, false);
  }

  /**
   * The appliance sealed: nothing is usable until the KMS domain connects the store again. The login
   * ends for every store that shares it (each of them is told forgetAll as well, or closed by its owner).
   */
  forgetAll(): void {
    this.c.sealed = true;
    this.c.handles.clear();
    this.c.keysCheckedAt.clear();
    this.c.blobKeys.clear();
    void this.close();
    void this.endConnection();
  }

  /**
   * Gives back this store's share of the login; the last share logs out, closes every session (a busy
   * one when its call returns) and releases the module. Idempotent.
   */
  close(): Promise<void> {
    this.released ??= (async () => {
      this.c.holders.delete(this);
      if (this.c.holders.size === 0) await this.endConnection();
    })();
    return this.released;
  }

  private endConnection(): Promise<void> {
    this.c.closing ??= (async () => {
      this.c.state = 'DISCONNECTING';
      this.c.handles.clear();
      this.c.keysCheckedAt.clear();
      this.c.blobKeys.clear();
      const loggedOut = (async () => {
        await this.parts.pool.drain();
        await this.parts.token.logout(this.parts.loginSession);
        await this.parts.module.closeSession(this.parts.loginSession);
        await this.parts.module.release();
      })();
      this.ended(loggedOut);
      await loggedOut;
      this.c.state = 'DISCONNECTED';
      this.c.failed = undefined;
    })();
    return this.c.closing;
  }

  /** Tells ./connect.ts, once, that this connection takes no more stores. */
  private ended(loggedOut: Promise<void>): void {
    if (this.c.ended) return;
    this.c.ended = true;
    this.parts.onEnd?.(loggedOut);
  }

  /** Random bytes from the token (AWS: GenerateRandom with the CustomKeyStoreId of a CloudHSM key store). */
  async generateRandom(bytes: number): Promise<Buffer> {
    this.requireUsable();
    return this.onToken((s) => s.generateRandom(bytes), false);
  }

  /** The attributes of a material's token object (for `kura hsm` checks and tests): never its value. */
  async keyAttributes(m: Pick<StoredMaterial, 'ref'>): Promise<SecretKeyAttributes> {
    this.requireUsable();
    return this.withKey(m.ref, false, (s, key) => s.readAttributes(key));
  }

  /**
   * The token's secret keys, at most TOKEN_KEYS_LISTED (what the login sees: Kura's, and any other
   * application's): each one's label, CKA_ID (hex) and the material ID Kura would give it, never a value.
   * The KMS domain finds there the keys no row of its own refers to (kms/custom-key-stores.ts).
   */
  async tokenKeys(): Promise<TokenKey[]> {
    this.requireUsable();
    const keys = await this.onToken((s) => s.tokenSecretKeys(TOKEN_KEYS_LISTED), false);
    return keys.map(({ label, id }) => ({ label, ckaId: id.toString('hex'), materialId: materialIdOf(id) }));
  }

  private blobKeyInput(derivation: NonNullable<BlobPayload['derivation']>): Buffer {
    if (derivation.length !== BLOB_KEY_BYTES) throw this.unsupported(`derive blob keys of ${derivation.length} bytes`);
    return blobKeyInput(derivation);
  }

  private requireSymmetric(m: StoredMaterial, operation: string): void {
    if (m.keySpec !== SYMMETRIC_DEFAULT) throw this.unsupported(`${operation} with ${m.keySpec} material`);
  }

  private requireUsable(): void {
    if (this.c.sealed) throw kmsErrors.sealed();
    if (this.connectionState() !== 'CONNECTED') throw this.unavailable();
  }

  private unavailable(): KmsError {
    const why = this.connectionState() === 'FAILED' ? `it failed (${this.c.failed})` : 'its key store is disconnected';
    return new KmsError('KeyUnavailable', `The HSM token "${this.parts.token.label}" is not available: ${why}. Reconnect its custom key store.`);
  }

  /** The connection failed: once, it turns FAILED, stops its sessions and tells the listeners of every store on it. */
  private fail(code: HsmConnectionErrorCode, cause: string): void {
    if (this.c.state !== 'CONNECTED') return;
    this.c.state = 'FAILED';
    this.c.failed = code;
    this.c.handles.clear();
    this.c.keysCheckedAt.clear();
    this.c.blobKeys.clear();
    this.parts.log.warn('HSM token unavailable', { token: this.parts.token.label, errorCode: code, cause });
    // Its login is of no use any more, but a token that still answers keeps it until C_Logout, and would
    // refuse a new login (CKR_USER_ALREADY_LOGGED_IN) until then: once its sessions are closed, the login
    // is logged out, and a connect from now on waits for that, then logs in afresh. close() still closes
    // the login session and releases the module (logging out again does nothing).
    const loggedOut = (async () => {
      await this.parts.pool.drain();
      await this.parts.token.logout(this.parts.loginSession);
    })();
    this.ended(loggedOut);
    for (const store of [...this.c.holders]) {
      for (const listener of store.listeners) {
        try {
          listener(code);
        } catch (e) {
          this.parts.log.error('HSM failure listener threw', { token: this.parts.token.label, ...errorFields(e) });
        }
      }
    }
  }

  /** Runs `fn` on a pooled session, turning PKCS#11 failures into Kura's errors. */
  private async onToken<T>(fn: (s: Pkcs11Session) => Promise<T>, opening: boolean): Promise<T> {
    try {
      return await this.parts.pool.run(fn);
    } catch (e) {
      throw await this.translate(e, opening);
    }
  }

  /**
   * Runs `fn` with the token key of a reference. A cached handle the module no longer knows is
   * forgotten and the key looked up again, once; a key that is not on a token that still answers is
   * KeyUnavailable without failing the store.
   */
  private async withKey<T>(ref: Uint8Array, opening: boolean, fn: (s: Pkcs11Session, key: Handle, id: string) => Promise<T>): Promise<T> {
    const id = decodeMaterialRef(ref);
    const hex = id.toString('hex');
    await this.checkPresence(opening);
    if (!opening) this.recheckKey(hex);
    const run = () => this.parts.pool.run(async (s) => fn(s, await this.keyHandle(s, id), hex));
    try {
      return await run();
    } catch (e) {
      if (meaningOf(e) !== 'object-handle-invalid' || this.c.state !== 'CONNECTED') throw await this.translate(e, opening);
    }
    this.c.handles.delete(hex);
    this.c.blobKeys.drop(hex);
    if (!(await this.parts.token.present())) throw await this.translate(new Pkcs11CallError('C_GetTokenInfo', undefined, 'token-absent'), opening);
    try {
      return await run();
    } catch (e) {
      throw await this.translate(e, opening);
    }
  }

  /**
   * At most every PRESENCE_CHECK_MS, a call asks the token whether it is still there (C_GetTokenInfo,
   * ~40 µs on SoftHSM2). A device that is pulled fails its next call anyway; a token that keeps answering
   * from memory while its storage is gone (SoftHSM2 whose files were deleted) would otherwise go on
   * serving from the blob keys of the login session, which never touch its storage.
   */
  private async checkPresence(opening: boolean): Promise<void> {
    const now = performance.now();
    if (now - this.c.presenceCheckedAt < PRESENCE_CHECK_MS) return;
    this.c.presenceCheckedAt = now;
    if (!(await this.parts.token.present())) throw await this.translate(new Pkcs11CallError('C_GetTokenInfo', undefined, 'token-absent'), opening);
  }

  /**
   * An encryption (or any use but opening) looks its material's token key up again, at most every
   * PRESENCE_CHECK_MS: its blob key is a session object derived earlier, which goes on working after the
   * token key is deleted behind Kura's back (pkcs11-tool --delete-object), so without this, blobs would
   * go on being sealed for the rest of the epoch (EPOCH_MS) that no later connection could open.
   */
  private recheckKey(hex: string): void {
    const now = performance.now();
    if (now - (this.c.keysCheckedAt.get(hex) ?? -Infinity) < PRESENCE_CHECK_MS) return;
    this.c.keysCheckedAt.set(hex, now);
    this.c.handles.delete(hex);
  }

  private async keyHandle(s: Pkcs11Session, id: Buffer): Promise<Handle> {
    const hex = id.toString('hex');
    const cached = this.c.handles.get(hex);
    if (cached) return cached;
    const found = await s.findSecretKeys(id);
    if (found.length === 1) {
      this.c.handles.set(hex, found[0]!);
      return found[0]!;
    }
    // SoftHSM whose token files were deleted finds nothing rather than failing: ask the token itself.
    if (found.length === 0 && !(await s.token.present())) throw new Pkcs11CallError('C_FindObjects', undefined, 'token-absent');
    // A session whose login ended (a C_Logout elsewhere in the process, a token that dropped it) sees no
    // private object either: that is the store's failure, not every key gone. A module that does not
    // offer C_GetSessionInfo cannot say: the key is then taken as not there.
    if (found.length === 0 && !(await s.userLoggedIn().catch((e: unknown) => (meaningOf(e) === 'not-supported' ? true : Promise.reject(e))))) {
      throw new Pkcs11CallError('C_FindObjects', undefined, 'user-not-logged-in');
    }
    // AWS KMS answers KMSInvalidStateException when the cluster no longer holds a key's material (it was
    // deleted there): not KeyUnavailableException, whose "retry" would never help.
    const why = found.length === 0 ? 'is not on' : 'is ambiguous on';
    throw new KmsError('InvalidState', `The key material ${why} the HSM token "${this.parts.token.label}" (CKA_ID ${hex}): the key cannot be used until it is there again.`);
  }

  private async translate(e: unknown, opening: boolean): Promise<Error> {
    if (isKmsError(e) || e instanceof AeadAuthenticationError) return e;
    if (e instanceof PoolClosedError) return this.c.sealed ? kmsErrors.sealed() : this.unavailable();
    if (!(e instanceof Pkcs11CallError)) {
      this.parts.log.error('HSM key store call failed', { token: this.parts.token.label, ...errorFields(e) });
      return kmsErrors.internal();
    }
    if (e.meaning === 'bad-ciphertext' && opening) return new AeadAuthenticationError();
    // The token works, and cannot do this (no random number generator, a function its module lacks).
    if (e.meaning === 'not-supported') return this.unsupported(`run ${e.fn} on the token "${this.parts.token.label}" (${e.message})`);
    // The login is of no use any more when the token ended it, or says the PIN has expired or is locked
    // (CKR_PIN_EXPIRED can answer any call that needs the login, until the PIN is changed): every call
    // would fail as this one did, so the store fails (USER_LOCKED_OUT for the PIN) rather than answer
    // Internal for good while it looks connected.
    const loginLost = e.meaning === 'user-not-logged-in' || e.meaning === 'pin-locked';
    if (TOKEN_GONE.has(e.meaning) || loginLost || (e.meaning === 'other' && !(await this.parts.token.present()))) {
      this.fail(e.meaning === 'other' ? 'INSUFFICIENT_CLOUDHSM_HSMS' : connectionCodeOf(e.meaning), e.message);
      return this.unavailable();
    }
    if (this.c.state !== 'CONNECTED') return this.unavailable();
    this.parts.log.error('HSM token refused a call', { token: this.parts.token.label, error: e.message });
    return new KmsError('Internal', `The HSM token "${this.parts.token.label}" refused the operation (${e.message}).`);
  }
}

// The HSM key store (DESIGN.md, "HSM key stores (PKCS#11)"): Kura's counterpart of an AWS CloudHSM key
// store. Its keys are non-extractable, sensitive AES-256 objects generated on a PKCS#11 token, and its
// cryptography runs on the token: for each version-2 blob, a per-blob session key is derived on the
// token from the key (CKM_AES_CBC_ENCRYPT_DATA over an input computed from the blob's SP 800-108 inputs,
// ./material-ref.ts), AES-GCM runs under it on the token, and it is destroyed. No key byte is ever in
// Kura's memory. Like AWS custom key stores it holds only SYMMETRIC_DEFAULT keys and takes no imports.
//
// Lifecycle: connectHsmKeyStore (./connect.ts) logs in and opens the session pool → CONNECTED. A token
// that goes away mid-use (removed, device error; SoftHSM: its files deleted) fails the call with
// KeyUnavailable, turns the store FAILED with an AWS ConnectionErrorCode (failure()), and runs the
// onFailure listeners once; the KMS domain then disconnects it. close() logs out, closes every session
// and releases the module → DISCONNECTED. forgetAll() (the appliance sealed) drops the cached handles,
// refuses every call with Sealed from then on, and closes the store: a sealed appliance keeps no
// logged-in session; unsealing reconnects with the PIN.
import { isKmsError, KmsError, kmsErrors } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import { AeadAuthenticationError } from '../../crypto/aead.js';
import { randomBytes } from '../../crypto/bytes.js';
import {
  GCM_TAG_BYTES,
  meaningOf,
  Pkcs11CallError,
  PoolClosedError,
  TOKEN_GONE,
  type Pkcs11Module,
  type Pkcs11Session,
  type Pkcs11Token,
  type SecretKeyAttributes,
  type SessionPool,
} from '../../devices/pkcs11/index.js';
import type { Handle } from 'pkcs11js';
import type { BlobPayload, ConnectionState, KeyStore, KeyStoreSpec, MaterialRef, NewMaterial, StoredMaterial } from '../key-store.js';
import { connectionCodeOf, type HsmConnectionErrorCode } from './connection-error.js';
import { blobKeyInput, CKA_ID_BYTES, decodeMaterialRef, encodeMaterialRef, materialIdOf } from './material-ref.js';

const SYMMETRIC_DEFAULT = 'SYMMETRIC_DEFAULT';
const BLOB_KEY_BYTES = 32;

const unsupported = (what: string) => new KmsError('UnsupportedOperation', `An HSM key store cannot ${what}.`);

export interface HsmParts {
  module: Pkcs11Module;
  token: Pkcs11Token;
  /** The session that holds the login (never used for cryptography, so never closed by the pool). */
  loginSession: Handle;
  pool: SessionPool<Pkcs11Session>;
  log: Logger;
}

export class HsmKeyStore implements KeyStore {
  readonly type = 'AWS_CLOUDHSM' as const;
  readonly importsMaterial = false;
  private state: ConnectionState = 'CONNECTED';
  private failed: HsmConnectionErrorCode | undefined;
  private sealed = false;
  private closing: Promise<void> | undefined;
  /** Object handles by CKA_ID (hex), valid while this connection lasts. */
  private readonly handles = new Map<string, Handle>();
  private readonly listeners: ((code: HsmConnectionErrorCode) => void)[] = [];

  constructor(private readonly parts: HsmParts) {}

  /** The token's label (what the operator registered). */
  get tokenLabel(): string {
    return this.parts.token.label;
  }

  connectionState(): ConnectionState {
    return this.state;
  }

  /** Why the store is FAILED; undefined when it is not. */
  failure(): HsmConnectionErrorCode | undefined {
    return this.state === 'FAILED' ? this.failed : undefined;
  }

  /** Runs once, when the token goes away mid-use. */
  onFailure(listener: (code: HsmConnectionErrorCode) => void): void {
    this.listeners.push(listener);
  }

  /** Sessions of the pool now: open, busy, callers waiting. */
  sessionStats(): { open: number; busy: number; waiting: number; max: number } {
    return { ...this.parts.pool.stats(), max: this.parts.pool.size };
  }

  /** AWS custom key stores hold symmetric encryption keys only. */
  supports(spec: string, usage?: string): boolean {
    return spec === SYMMETRIC_DEFAULT && (usage === undefined || usage === 'ENCRYPT_DECRYPT');
  }

  async generate(keyId: string, spec: KeyStoreSpec, hints?: { label?: string }): Promise<NewMaterial> {
    if (!this.supports(spec)) throw unsupported(`hold keys of key spec ${spec}`);
    this.requireUsable();
    const id = randomBytes(CKA_ID_BYTES);
    const label = hints?.label ?? `kura:${keyId}`;
    const handle = await this.onToken((s) => s.generateAesKey(label, id), false);
    this.handles.set(id.toString('hex'), handle);
    return { materialId: materialIdOf(id), ref: encodeMaterialRef(id), publicKey: null };
  }

  async importMaterial(): Promise<NewMaterial> {
    throw unsupported('import key material (AWS custom key stores take none)');
  }

  async createWrappingKey(): Promise<{ publicKey: Buffer; ref: MaterialRef }> {
    throw unsupported('import key material (AWS custom key stores take none)');
  }

  async encryptBlobPayload(m: StoredMaterial, payload: BlobPayload, plaintext: Uint8Array): Promise<Buffer> {
    this.requireSymmetric(m, 'encrypt a blob');
    if (payload.version !== 2 || payload.derivation === null) throw unsupported('write ciphertext blobs of version 1');
    const input = this.blobKeyInput(payload.derivation);
    this.requireUsable();
    return this.withKey(m.ref, false, async (s, key) => {
      const blobKey = await s.deriveBlobKey(key, input);
      try {
        return await s.encryptAesGcm(blobKey, payload.iv, payload.aad, plaintext);
      } finally {
        s.destroySessionKey(blobKey);
      }
    });
  }

  async decryptBlobPayload(m: StoredMaterial, payload: BlobPayload, sealed: Uint8Array): Promise<Buffer> {
    this.requireSymmetric(m, 'decrypt a blob');
    // Version 1 used the material itself as the GCM key: only the standard store ever wrote it.
    if (payload.version !== 2) throw unsupported('read ciphertext blobs of version 1');
    if (payload.derivation === null || sealed.length < GCM_TAG_BYTES) throw new AeadAuthenticationError();
    const input = this.blobKeyInput(payload.derivation);
    this.requireUsable();
    return this.withKey(m.ref, true, async (s, key) => {
      const blobKey = await s.deriveBlobKey(key, input);
      try {
        return await s.decryptAesGcm(blobKey, payload.iv, payload.aad, sealed);
      } finally {
        s.destroySessionKey(blobKey);
      }
    });
  }

  async encryptAsymmetric(): Promise<Buffer> {
    throw unsupported('encrypt with asymmetric keys');
  }

  async decryptAsymmetric(): Promise<Buffer> {
    throw unsupported('decrypt with asymmetric keys');
  }

  async sign(): Promise<Buffer> {
    throw unsupported('sign');
  }

  async verify(): Promise<boolean> {
    throw unsupported('verify signatures');
  }

  async generateMac(): Promise<Buffer> {
    throw unsupported('generate MACs');
  }

  async verifyMac(): Promise<boolean> {
    throw unsupported('verify MACs');
  }

  async deriveSharedSecret(): Promise<Buffer> {
    throw unsupported('derive shared secrets');
  }

  /** Destroys the token object; one that is not there any more is fine. */
  async destroy(m: Pick<StoredMaterial, 'keyId' | 'materialId' | 'ref'>): Promise<void> {
    const id = decodeMaterialRef(m.ref);
    this.requireUsable();
    this.handles.delete(id.toString('hex'));
    await this.onToken(async (s) => {
      const found = s.findSecretKeys(id);
      if (found.length === 0 && !s.token.present()) throw new Pkcs11CallError('C_FindObjects', undefined, 'token-absent');
      for (const h of found) s.destroyObject(h);
    }, false);
  }

  /** The appliance sealed: nothing is usable until the KMS domain connects the store again. */
  forgetAll(): void {
    this.sealed = true;
    this.handles.clear();
    void this.close();
  }

  /** Logs out, closes every session (a busy one when its call returns) and releases the module. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.state = 'DISCONNECTING';
      this.handles.clear();
      await this.parts.pool.drain();
      this.parts.token.logout(this.parts.loginSession);
      this.parts.module.closeSession(this.parts.loginSession);
      this.parts.module.release();
      this.state = 'DISCONNECTED';
      this.failed = undefined;
    })();
    return this.closing;
  }

  /** Random bytes from the token (AWS: GenerateRandom with the CustomKeyStoreId of a CloudHSM key store). */
  async generateRandom(bytes: number): Promise<Buffer> {
    this.requireUsable();
    return this.onToken(async (s) => s.generateRandom(bytes), false);
  }

  /** The attributes of a material's token object (for `kura hsm` checks and tests): never its value. */
  async keyAttributes(m: Pick<StoredMaterial, 'ref'>): Promise<SecretKeyAttributes> {
    this.requireUsable();
    return this.withKey(m.ref, false, async (s, key) => s.readAttributes(key));
  }

  private blobKeyInput(derivation: NonNullable<BlobPayload['derivation']>): Buffer {
    if (derivation.length !== BLOB_KEY_BYTES) throw unsupported(`derive blob keys of ${derivation.length} bytes`);
    return blobKeyInput(derivation);
  }

  private requireSymmetric(m: StoredMaterial, operation: string): void {
    if (m.keySpec !== SYMMETRIC_DEFAULT) throw unsupported(`${operation} with ${m.keySpec} material`);
  }

  private requireUsable(): void {
    if (this.sealed) throw kmsErrors.sealed();
    if (this.state !== 'CONNECTED') throw this.unavailable();
  }

  private unavailable(): KmsError {
    const why = this.state === 'FAILED' ? `it failed (${this.failed})` : 'its key store is disconnected';
    return new KmsError('KeyUnavailable', `The HSM token "${this.parts.token.label}" is not available: ${why}. Reconnect its custom key store.`);
  }

  /** The store failed: once, it turns FAILED, stops its sessions and tells its listeners. */
  private fail(code: HsmConnectionErrorCode, cause: string): void {
    if (this.state !== 'CONNECTED') return;
    this.state = 'FAILED';
    this.failed = code;
    this.handles.clear();
    this.parts.log.warn('HSM token unavailable', { token: this.parts.token.label, code, cause });
    void this.parts.pool.drain();
    for (const listener of this.listeners) {
      try {
        listener(code);
      } catch (e) {
        this.parts.log.error('HSM failure listener threw', { token: this.parts.token.label, error: e instanceof Error ? e.name : typeof e });
      }
    }
  }

  /** Runs `fn` on a pooled session, turning PKCS#11 failures into Kura's errors. */
  private async onToken<T>(fn: (s: Pkcs11Session) => Promise<T>, opening: boolean): Promise<T> {
    try {
      return await this.parts.pool.run(fn);
    } catch (e) {
      throw this.translate(e, opening);
    }
  }

  /**
   * Runs `fn` with the token key of a reference. A cached handle the module no longer knows is
   * forgotten and the key looked up again, once; a key that is not on a token that still answers is
   * KeyUnavailable without failing the store.
   */
  private async withKey<T>(ref: Uint8Array, opening: boolean, fn: (s: Pkcs11Session, key: Handle) => Promise<T>): Promise<T> {
    const id = decodeMaterialRef(ref);
    const run = () => this.parts.pool.run(async (s) => fn(s, this.keyHandle(s, id)));
    try {
      return await run();
    } catch (e) {
      if (meaningOf(e) !== 'object-handle-invalid' || this.state !== 'CONNECTED') throw this.translate(e, opening);
    }
    this.handles.delete(id.toString('hex'));
    if (!this.parts.token.present()) throw this.translate(new Pkcs11CallError('C_GetTokenInfo', undefined, 'token-absent'), opening);
    try {
      return await run();
    } catch (e) {
      throw this.translate(e, opening);
    }
  }

  private keyHandle(s: Pkcs11Session, id: Buffer): Handle {
    const hex = id.toString('hex');
    const cached = this.handles.get(hex);
    if (cached) return cached;
    const found = s.findSecretKeys(id);
    if (found.length === 1) {
      this.handles.set(hex, found[0]!);
      return found[0]!;
    }
    // SoftHSM whose token files were deleted finds nothing rather than failing: ask the token itself.
    if (found.length === 0 && !s.token.present()) throw new Pkcs11CallError('C_FindObjects', undefined, 'token-absent');
    const why = found.length === 0 ? 'is not on' : 'is ambiguous on';
    throw new KmsError('KeyUnavailable', `The key material ${why} the HSM token "${this.parts.token.label}".`);
  }

  private translate(e: unknown, opening: boolean): Error {
    if (isKmsError(e) || e instanceof AeadAuthenticationError) return e;
    if (e instanceof PoolClosedError) return this.sealed ? kmsErrors.sealed() : this.unavailable();
    if (!(e instanceof Pkcs11CallError)) {
      this.parts.log.error('HSM key store call failed', { token: this.parts.token.label, error: e instanceof Error ? e.name : typeof e });
      return kmsErrors.internal();
    }
    if (e.meaning === 'bad-ciphertext' && opening) return new AeadAuthenticationError();
    if (TOKEN_GONE.has(e.meaning) || e.meaning === 'user-not-logged-in' || (e.meaning === 'other' && !this.parts.token.present())) {
      this.fail(e.meaning === 'other' ? 'INSUFFICIENT_CLOUDHSM_HSMS' : connectionCodeOf(e.meaning), e.message);
      return this.unavailable();
    }
    if (this.state !== 'CONNECTED') return this.unavailable();
    this.parts.log.error('HSM token refused a call', { token: this.parts.token.label, error: e.message });
    return new KmsError('Internal', `The HSM token "${this.parts.token.label}" refused the operation (${e.message}).`);
  }
}

// A fake HSM for unit tests of the custom key store logic (main/kms/custom-key-stores.ts and
// ./operations/custom-key-stores.ts): tokens kept in memory by label, a user PIN per token, AES-256-GCM
// with node:crypto under a key per blob, and a way to pull a token out mid-use. The real HSM key store
// (main/keystores/hsm) is tested against SoftHSM2 and NSS softokn; this stands in for it where only the
// KMS domain's rules are under test.
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { KmsError } from '../../main/common/errors.js';
import { AeadAuthenticationError } from '../../main/crypto/aead.js';
import type { BlobPayload, ConnectionState, MaterialRef, NewMaterial, StoredMaterial } from '../../main/keystores/key-store.js';
import type { ConnectedHsm, HsmConnectionErrorCode, HsmConnector, HsmTokenConfig, HsmTokenInfo } from '../../main/kms/index.js';

interface FakeToken {
  label: string;
  pin: string;
  serialNumber: string;
  keys: Map<string, Buffer>;
}

const unsupported = () => Promise.reject(new KmsError('UnsupportedOperation', 'the fake HSM holds symmetric encryption keys only'));

class FakeConnection implements ConnectedHsm {
  readonly type = 'AWS_CLOUDHSM' as const;
  readonly importsMaterial = false;
  private state: ConnectionState = 'CONNECTED';
  private failed: HsmConnectionErrorCode | undefined;
  private readonly listeners: ((code: HsmConnectionErrorCode) => void)[] = [];
  /** The labels generate() was given, in order. */
  readonly labels: string[] = [];

  constructor(private readonly token: FakeToken) {}

  connectionState(): ConnectionState {
    return this.state;
  }

  supports(spec: string, usage?: string): boolean {
    return spec === 'SYMMETRIC_DEFAULT' && (usage === undefined || usage === 'ENCRYPT_DECRYPT');
  }

  private live(): void {
    if (this.state !== 'CONNECTED') throw new KmsError('KeyUnavailable', `The HSM token ${this.token.label} is not available.`);
  }

  async generate(_keyId: string, spec: string, hints?: { label?: string }): Promise<NewMaterial> {
    this.live();
    if (spec !== 'SYMMETRIC_DEFAULT') throw new KmsError('UnsupportedOperation', `the fake HSM does not hold ${spec} keys`);
    const id = randomBytes(16);
    this.token.keys.set(id.toString('hex'), randomBytes(32));
    if (hints?.label) this.labels.push(hints.label);
    return { materialId: createHash('sha256').update(id).digest('hex'), ref: id as MaterialRef, publicKey: null };
  }

  private keyFor(m: StoredMaterial, payload: BlobPayload): Buffer {
    this.live();
    const key = this.token.keys.get(m.ref.toString('hex'));
    if (!key || payload.derivation === null) throw new AeadAuthenticationError();
    return createHmac('sha256', key).update(payload.derivation.context).digest();
  }

  async encryptBlobPayload(m: StoredMaterial, payload: BlobPayload, plaintext: Uint8Array): Promise<Buffer> {
    const c = createCipheriv('aes-256-gcm', this.keyFor(m, payload), payload.iv).setAAD(payload.aad);
    return Buffer.concat([c.update(plaintext), c.final(), c.getAuthTag()]);
  }

  async decryptBlobPayload(m: StoredMaterial, payload: BlobPayload, sealed: Uint8Array): Promise<Buffer> {
    const d = createDecipheriv('aes-256-gcm', this.keyFor(m, payload), payload.iv).setAAD(payload.aad);
    d.setAuthTag(sealed.subarray(sealed.length - 16));
    try {
      return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()]);
    } catch {
      throw new AeadAuthenticationError();
    }
  }

  async generateRandom(bytes: number): Promise<Buffer> {
    this.live();
    this.randomCalls++;
    return randomBytes(bytes);
  }

  /** How many times generateRandom was asked. */
  randomCalls = 0;

  importMaterial = unsupported;
  createWrappingKey = unsupported;
  encryptAsymmetric = unsupported;
  decryptAsymmetric = unsupported;
  sign = unsupported;
  verify = unsupported;
  generateMac = unsupported;
  verifyMac = unsupported;
  deriveSharedSecret = unsupported;

  async destroy(m: Pick<StoredMaterial, 'ref'>): Promise<void> {
    this.token.keys.delete(m.ref.toString('hex'));
  }

  forgetAll(): void {}

  failure(): HsmConnectionErrorCode | undefined {
    return this.failed;
  }

  onFailure(listener: (code: HsmConnectionErrorCode) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    if (this.state === 'CONNECTED') this.state = 'DISCONNECTED';
  }

  /** The token is pulled out: calls fail, the connection is FAILED, listeners hear it once. */
  pull(code: HsmConnectionErrorCode = 'NETWORK_ERRORS'): void {
    this.state = 'FAILED';
    this.failed = code;
    for (const l of this.listeners) l(code);
  }
}

export class FakeHsms implements HsmConnector {
  readonly tokens = new Map<string, FakeToken>();
  readonly connections: FakeConnection[] = [];
  /** Each login a connect tried, in order: whether the token took its PIN. */
  readonly logins: ('ok' | 'refused')[] = [];
  /** While set, connects wait for it (a token slow to log in), and tell `arrived` that one does. */
  private held: { gate: Promise<void>; arrived: () => void } | undefined;

  /** Makes connects wait until `release` is called; `reached` settles when the first one is waiting. */
  holdConnects(): { reached: Promise<void>; release: () => void } {
    let release!: () => void;
    let arrived!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    this.held = { gate: new Promise<void>((resolve) => (release = resolve)), arrived };
    return {
      reached,
      release: () => {
        this.held = undefined;
        release();
      },
    };
  }

  addToken(label: string, pin: string, serialNumber = randomBytes(8).toString('hex')): void {
    this.tokens.set(label, { label, pin, serialNumber, keys: new Map() });
  }

  private token(config: HsmTokenConfig): FakeToken {
    const t = this.tokens.get(config.tokenLabel.trim());
    if (!t) throw Object.assign(new Error(`no token labelled ${config.tokenLabel}`), { code: 'INSUFFICIENT_CLOUDHSM_HSMS' });
    return t;
  }

  async probe(config: HsmTokenConfig): Promise<HsmTokenInfo> {
    const t = this.token(config);
    return { label: t.label, manufacturerId: 'Kura tests', model: 'fake', serialNumber: t.serialNumber, vendor: 'fake', loginRequired: true, aesGcm: true };
  }

  async connect(config: HsmTokenConfig & { pin: string }): Promise<ConnectedHsm> {
    if (this.held) {
      this.held.arrived();
      await this.held.gate;
    }
    const t = this.token(config);
    this.logins.push(config.pin === t.pin ? 'ok' : 'refused');
    if (config.pin !== t.pin) throw Object.assign(new Error('CKR_PIN_INCORRECT'), { code: 'INVALID_CREDENTIALS' });
    const c = new FakeConnection(t);
    this.connections.push(c);
    return c;
  }

  /** The newest connection, to pull its token. */
  get last(): FakeConnection {
    const c = this.connections[this.connections.length - 1];
    if (!c) throw new Error('no connection was made');
    return c;
  }
}

// The root key and the appliance's sealed/unsealed state.
//
// Shamir mode: `init` makes a 256-bit root key, splits it M-of-N (main/crypto/shamir.ts) and stores
// only a check value, HMAC-SHA256(root, "kura root key check v1"). Plain Shamir turns a wrong share
// into a wrong secret without noticing; the check value catches that, so a wrong or foreign share is
// refused and never becomes a wrong root key. Shares are handed over one at a time (or all at once)
// and held in memory only until the threshold is reached.
// PKCS#11 mode: `init` makes the root key in Kura and has a PKCS#11 token seal it under a
// non-extractable AES key generated there (./pkcs11-root-key-token.ts); seal_config keeps the token's
// settings, the key's CKA_ID, the IV, the sealed root key and the check value. Unsealing logs in with the
// PIN and has the token open it; the check value must then match. Like Shamir's, init leaves the
// appliance sealed: the operator proves the PIN path once with `kura unseal`.
// Dev mode: the root key lives in a 0600 file in the data directory and unseals at start. Insecure
// by design, and says so.
// While unsealed, the root key itself is not kept: only the keys derived from it (HKDF-SHA256, one per
// purpose), which are wiped on seal.
import { createHmac, hkdfSync } from 'node:crypto';
import { KmsError, kmsErrors } from '../common/errors.js';
import type { Clock } from '../common/clock.js';
import { Serial } from '../common/serial.js';
import type { Aead, AeadKey } from '../crypto/aead.js';
import { constantTimeEqual, randomBytes, zeroize } from '../crypto/bytes.js';
import { combineShares, decodeShare, encodeShare, ShareError, splitSecret, type Share } from '../crypto/shamir.js';
import type { ApplianceRepository, Database, Pkcs11SealRecord, SealConfigRecord } from '../store/index.js';
import { serialIdentifies } from '../devices/pkcs11/token-serial.js';
import { AtRestSealer, encodeAad } from './at-rest.js';
import { Pkcs11RootKeyToken } from './pkcs11-root-key-token.js';
import type { RootKeyToken, TokenSettings } from './root-key-token.js';

export const ROOT_KEY_BYTES = 32;
const CHECK_LABEL = 'kura root key check v1';
/** The AAD purpose of the root key as a token seals it; the appliance ID follows it. */
const PKCS11_SEAL_PURPOSE = 'kura/seal/pkcs11/root-key/v1';
/** PKCS#11 token labels are 32 bytes (CK_TOKEN_INFO.label). */
const TOKEN_LABEL_BYTES = 32;
const MAX_PIN_CHARS = 255;
const MAX_SETTING_CHARS = 4096;

export type SealState = 'uninitialized' | 'sealed' | 'unsealed';

export interface SealStatus {
  state: SealState;
  mode: SealConfigRecord['mode'] | null;
  /** Shamir and dev only (null in pkcs11 mode: a PIN, not shares, unseals it). */
  threshold: number | null;
  shares: number | null;
  /** Shares accepted so far towards the threshold (shamir, while sealed). */
  progress: number;
}

/**
 * An unseal given to an unsealed appliance: refused, so that nobody is told a PIN or share works that
 * was never checked (and the audit log records no unseal that did not happen).
 */
const alreadyUnsealed = (what: 'PIN' | 'share') => new KmsError('InvalidState', `Kura is unsealed already; the ${what} was not checked.`);

export function rootKeyCheckValue(root: Uint8Array): Buffer {
  return createHmac('sha256', root).update(CHECK_LABEL).digest();
}

export interface Pkcs11InitRequest extends TokenSettings {
  pin: string;
}

export interface Pkcs11InitResult {
  /** CKA_LABEL and CKA_ID (hex) of the sealing key made on the token. */
  keyLabel: string;
  keyId: string;
}

function requirePin(pin: unknown): string {
  if (typeof pin !== 'string' || pin.length === 0 || pin.length > MAX_PIN_CHARS) {
    throw kmsErrors.validation(`The PIN must be a string of 1 to ${MAX_PIN_CHARS} characters.`);
  }
  return pin;
}

/** How an unseal goes on once the root key is known to be this appliance's. */
export interface UnsealOptions {
  /**
   * Runs after the root key was recombined (or opened by the token) and checked, before the appliance
   * unseals: the caller's audit entry of the unseal, so that Kura is never unsealed without one. If it
   * throws, the root key is wiped, the shares are forgotten and the appliance stays sealed.
   */
  beforeUnseal?: () => Promise<void>;
}

interface DerivedKeys {
  material: AeadKey;
  credentials: AeadKey;
}

export class RootKeyHolder {
  private derived: DerivedKeys | undefined;
  private pending: Share[] = [];
  private sealListeners: (() => void)[] = [];
  private initialized = false;
  private seals = 0;
  /** Token calls (init, unseal) run one at a time: PKCS#11 logs in per token and process. */
  private readonly tokenQueue = new Serial();
  private readonly token: RootKeyToken;

  constructor(
    private readonly deps: { db: Database; appliance: ApplianceRepository; aead: Aead; clock: Clock; applianceId: string; token?: RootKeyToken },
  ) {
    this.token = deps.token ?? new Pkcs11RootKeyToken();
  }

  /** Reads whether the appliance is initialized; call once at start. */
  async load(): Promise<void> {
    this.initialized = (await this.deps.appliance.sealConfig()) !== undefined;
  }

  async status(): Promise<SealStatus> {
    const cfg = await this.deps.appliance.sealConfig();
    if (!cfg) return { state: 'uninitialized', mode: null, threshold: null, shares: null, progress: 0 };
    const shares = cfg.mode !== 'pkcs11';
    return {
      state: this.derived ? 'unsealed' : 'sealed',
      mode: cfg.mode,
      threshold: shares ? cfg.threshold : null,
      shares: shares ? cfg.shareCount : null,
      progress: this.derived ? 0 : this.pending.length,
    };
  }

  get isUnsealed(): boolean {
    return this.derived !== undefined;
  }

  /**
   * How many times the appliance has sealed. Work that opens something with a sealed secret while it
   * awaits (a token login, a proxy's health check) takes this first and keeps what it opened only if
   * unsealedSince(it) still holds: a seal meanwhile has already closed everything else.
   */
  get sealCount(): number {
    return this.seals;
  }

  /** Unsealed now, and not sealed since `sealCount` was `count`. */
  unsealedSince(count: number): boolean {
    return this.derived !== undefined && this.seals === count;
  }

  /** Called whenever the appliance seals, so holders of decrypted keys can wipe them. */
  onSeal(listener: () => void): void {
    this.sealListeners.push(listener);
  }

  /** Makes and splits a new root key. Returns the shares in text form; they are never stored. */
  async initShamir(threshold: number, shareCount: number): Promise<string[]> {
    if (!Number.isInteger(threshold) || !Number.isInteger(shareCount) || threshold < 1 || shareCount < threshold || shareCount > 255) {
      throw kmsErrors.validation('Shares must satisfy 1 <= threshold <= shares <= 255.');
    }
    const root = randomBytes(ROOT_KEY_BYTES);
    try {
      const shares = splitSecret(root, threshold, shareCount);
      await this.writeSealConfig('shamir', threshold, shareCount, shares[0]!.setId, root);
      const text = shares.map(encodeShare);
      for (const s of shares) zeroize(s.data);
      return text;
    } finally {
      zeroize(root);
    }
  }

  /** Dev mode: initializes with the given root key (read from the dev key file) if not yet initialized, then unseals. */
  async initAndUnsealDev(root: Uint8Array): Promise<void> {
    let cfg = await this.deps.appliance.sealConfig();
    if (!cfg) {
      await this.writeSealConfig('dev', 1, 1, 'dev', root);
      cfg = await this.deps.appliance.sealConfig();
    }
    if (cfg!.mode !== 'dev') {
      throw new KmsError('InvalidState', `This data directory is sealed with ${cfg!.mode === 'pkcs11' ? 'a PKCS#11 token' : 'Shamir shares'}; it cannot be opened in dev mode.`);
    }
    if (!constantTimeEqual(rootKeyCheckValue(root), cfg!.checkValue)) {
      throw new KmsError('InvalidState', 'The dev root key file does not match this data directory.');
    }
    this.unsealWith(root);
  }

  /**
   * PKCS#11 mode: makes a root key, has the token seal it under a new non-extractable key, stores how to
   * find it again, and leaves the appliance sealed (`kura unseal` with the PIN proves the path once).
   * The PIN is used for this call only.
   */
  async initPkcs11(request: Pkcs11InitRequest): Promise<Pkcs11InitResult> {
    const settings = this.tokenSettings(request);
    const pin = requirePin(request.pin);
    return this.exclusive(async () => {
      if (await this.deps.appliance.sealConfig()) throw new KmsError('InvalidState', 'Kura is already initialized.');
      const root = randomBytes(ROOT_KEY_BYTES);
      try {
        const keyLabel = `kura-root-wrap:${this.deps.applianceId}`;
        const sealed = await this.token.sealRootKey(settings, pin, { keyLabel, root, aad: this.pkcs11Aad() }, (s) =>
          // Still logged in: if this insert loses a race, the token key is destroyed again.
          this.writeSealConfig('pkcs11', 1, 1, 'pkcs11', root, { ...settings, ...s }),
        );
        return { keyLabel, keyId: sealed.keyId.toString('hex') };
      } finally {
        zeroize(root);
      }
    });
  }

  /**
   * PKCS#11 mode: logs in to the token with the PIN, has it open the sealed root key, checks it against
   * the check value and unseals. A refused PIN, an absent token or a key that does not open the sealed
   * root key change nothing: the appliance stays sealed.
   */
  async unsealWithPin(pinInput: unknown, opts: UnsealOptions = {}): Promise<SealStatus> {
    const cfg = await this.deps.appliance.sealConfig();
    if (!cfg) throw new KmsError('NotInitialized', 'Kura is not initialized: run `kura init` first.');
    if (this.derived) throw alreadyUnsealed('PIN');
    if (cfg.mode !== 'pkcs11' || !cfg.pkcs11) {
      throw new KmsError('InvalidState', cfg.mode === 'shamir' ? 'This appliance unseals with Shamir shares, not a PIN.' : 'This appliance is in dev mode; it unseals from its key file at start.');
    }
    const p = cfg.pkcs11;
    const pin = requirePin(pinInput);
    return this.exclusive(async () => {
      if (this.derived) throw alreadyUnsealed('PIN');
      const settings: TokenSettings = {
        modulePath: p.modulePath,
        tokenLabel: p.tokenLabel,
        ...(p.libraryParameters !== undefined ? { libraryParameters: p.libraryParameters } : {}),
        ...(p.serialNumber !== undefined ? { serialNumber: p.serialNumber } : {}),
      };
      const { rootKey: root, serialNumber } = await this.token.openRootKey(settings, pin, p, this.pkcs11Aad());
      try {
        if (root.length !== ROOT_KEY_BYTES || !constantTimeEqual(rootKeyCheckValue(root), cfg.checkValue)) {
          throw new KmsError('InvalidState', 'The token opened a root key that is not this appliance\'s (its check value does not match).');
        }
        // Initialised before Kura kept the token's serial: the token has just proved itself (its key opened
        // this appliance's root key), so its serial is kept now, and later unseals refuse another token
        // before offering it the PIN. Best effort: a database that cannot take it leaves the label alone.
        if (p.serialNumber === undefined && serialIdentifies(serialNumber)) {
          await this.deps.db.write((tx) => this.deps.appliance.recordPkcs11SerialNumber(tx, serialNumber)).catch(() => false);
        }
        await opts.beforeUnseal?.();
        this.unsealWith(root);
      } finally {
        zeroize(root);
      }
      return this.status();
    });
  }

  private tokenSettings(request: TokenSettings): TokenSettings {
    const { modulePath, tokenLabel, libraryParameters } = request as Partial<Record<keyof TokenSettings, unknown>>;
    if (typeof modulePath !== 'string' || modulePath.length === 0 || modulePath.length > MAX_SETTING_CHARS) {
      throw kmsErrors.validation('pkcs11 init needs "modulePath": the absolute path of the PKCS#11 module.');
    }
    if (typeof tokenLabel !== 'string' || tokenLabel.trim().length === 0 || Buffer.byteLength(tokenLabel.trim(), 'utf8') > TOKEN_LABEL_BYTES) {
      throw kmsErrors.validation(`pkcs11 init needs "tokenLabel": the token's label (1 to ${TOKEN_LABEL_BYTES} bytes).`);
    }
    if (libraryParameters !== undefined && (typeof libraryParameters !== 'string' || libraryParameters.length > MAX_SETTING_CHARS)) {
      throw kmsErrors.validation(`"libraryParameters" must be a string of at most ${MAX_SETTING_CHARS} characters.`);
    }
    return { modulePath, tokenLabel: tokenLabel.trim(), ...(libraryParameters !== undefined ? { libraryParameters } : {}) };
  }

  private pkcs11Aad(): Buffer {
    return encodeAad(PKCS11_SEAL_PURPOSE, this.deps.applianceId);
  }

  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.tokenQueue.run(fn);
  }

  private async writeSealConfig(
    mode: SealConfigRecord['mode'],
    threshold: number,
    shareCount: number,
    setId: string,
    root: Uint8Array,
    pkcs11?: Pkcs11SealRecord,
  ): Promise<void> {
    // Two inits may race (two CLIs, or a retry): the insert decides, inside the write transaction,
    // and the loser is told the appliance is initialized, never a database error.
    const inserted = await this.deps.db.write((tx) =>
      this.deps.appliance.insertSealConfig(tx, {
        mode,
        threshold,
        shareCount,
        shareSetId: setId,
        checkValue: rootKeyCheckValue(root),
        createdAt: this.deps.clock.nowMs(),
        ...(pkcs11 ? { pkcs11 } : {}),
      }),
    );
    if (!inserted) throw new KmsError('InvalidState', 'Kura is already initialized.');
    this.initialized = true;
  }

  /**
   * Accepts one or more shares. A share that is bad on its own (a typo, not a share, another root
   * key's, given twice) is refused before anything is combined, and the other custodians' progress
   * is kept. Once the threshold is reached the shares are combined; a set that does not recombine to
   * the root key (the check value) is refused and forgotten, since which share is wrong cannot be
   * told: start again.
   */
  async submitShares(texts: string[], opts: UnsealOptions = {}): Promise<SealStatus> {
    const cfg = await this.deps.appliance.sealConfig();
    if (!cfg) throw new KmsError('NotInitialized', 'Kura is not initialized: run `kura init` first.');
    if (this.derived) throw alreadyUnsealed('share');
    if (cfg.mode !== 'shamir') {
      throw new KmsError('InvalidState', cfg.mode === 'pkcs11' ? 'This appliance unseals with its PKCS#11 token\'s PIN, not shares.' : 'This appliance is in dev mode; it unseals from its key file at start.');
    }
    // All given shares are checked before any is taken, so a call is taken whole or not at all.
    const accepted: Share[] = [];
    const refuseOne = (message: string): KmsError => {
      for (const s of accepted) zeroize(s.data);
      return new KmsError('AccessDenied', `${message} The ${this.pending.length} share(s) given before are kept.`);
    };
    for (const text of texts) {
      let share: Share;
      try {
        share = decodeShare(text);
      } catch (e) {
        throw refuseOne(e instanceof ShareError && e.reason === 'checksum' ? 'That share has a typo: its checksum does not match.' : 'That is not a Kura root key share.');
      }
      if (share.setId !== cfg.shareSetId || share.threshold !== cfg.threshold) {
        zeroize(share.data);
        throw refuseOne('That share belongs to another root key (a different `kura init`).');
      }
      if ([...this.pending, ...accepted].some((p) => p.index === share.index)) {
        zeroize(share.data);
        throw refuseOne(`Share ${share.index} was already given; each custodian's share counts once.`);
      }
      accepted.push(share);
    }
    this.pending.push(...accepted);
    if (this.pending.length < cfg.threshold) return this.status();
    const shares = this.pending;
    // The shares are taken now: a call arriving while beforeUnseal runs starts a new set (and finds the
    // appliance unsealed, or sealed with the shares forgotten).
    this.pending = [];
    let root: Buffer | undefined;
    try {
      try {
        root = combineShares(shares);
      } catch {
        throw new KmsError('AccessDenied', 'The shares given do not belong together; at least one of them is wrong.');
      }
      if (!constantTimeEqual(rootKeyCheckValue(root), cfg.checkValue)) {
        throw new KmsError('AccessDenied', 'The shares given do not recombine to this appliance\'s root key; at least one of them is wrong. Start again with every share.');
      }
      await opts.beforeUnseal?.();
      // Another set may have unsealed meanwhile (while beforeUnseal ran): its keys stay.
      if (!this.derived) this.unsealWith(root);
      // Shares given meanwhile are of no use now.
      this.clearPending();
    } finally {
      if (root) zeroize(root);
      for (const share of shares) zeroize(share.data);
    }
    return this.status();
  }

  private clearPending(): void {
    for (const s of this.pending) zeroize(s.data);
    this.pending = [];
  }

  private unsealWith(root: Uint8Array): void {
    const derive = (info: string): AeadKey => {
      const k = Buffer.from(hkdfSync('sha256', root, Buffer.from(this.deps.applianceId, 'utf8'), info, 32));
      try {
        return this.deps.aead.importKey(k);
      } finally {
        zeroize(k);
      }
    };
    this.derived = { material: derive('kura/at-rest/key-material/v1'), credentials: derive('kura/at-rest/credentials/v1') };
    this.initialized = true;
  }

  seal(): void {
    this.clearPending();
    if (!this.derived) return;
    this.derived.material.destroy();
    this.derived.credentials.destroy();
    this.derived = undefined;
    this.seals += 1;
    for (const l of this.sealListeners) l();
  }

  /** Throws NotInitialized or Sealed unless keys can be used. */
  requireUnsealed(): void {
    this.live();
  }

  private live(): DerivedKeys {
    if (!this.derived) {
      if (!this.initialized) throw new KmsError('NotInitialized', 'Kura is not initialized: run `kura init` to make its root key, then `kura unseal`.');
      throw kmsErrors.sealed();
    }
    return this.derived;
  }

  materialSealer(): AtRestSealer {
    return new AtRestSealer(this.live().material);
  }

  credentialSealer(): AtRestSealer {
    return new AtRestSealer(this.live().credentials);
  }
}

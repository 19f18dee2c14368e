// The root key and the appliance's sealed/unsealed state.
//
// Shamir mode: `init` makes a 256-bit root key, splits it M-of-N (main/crypto/shamir.ts) and stores
// only a check value, HMAC-SHA256(root, "kura root key check v1"). Plain Shamir turns a wrong share
// into a wrong secret without noticing; the check value catches that, so a wrong or foreign share is
// refused and never becomes a wrong root key. Shares are handed over one at a time (or all at once)
// and held in memory only until the threshold is reached.
// Dev mode: the root key lives in a 0600 file in the data directory and unseals at start. Insecure
// by design, and says so.
// While unsealed, the root key itself is not kept: only the keys derived from it (HKDF-SHA256, one per
// purpose), which are wiped on seal.
import { createHmac, hkdfSync } from 'node:crypto';
import { KmsError, kmsErrors } from '../common/errors.js';
import type { Clock } from '../common/clock.js';
import type { Aead, AeadKey } from '../crypto/aead.js';
import { constantTimeEqual, randomBytes, zeroize } from '../crypto/bytes.js';
import { combineShares, decodeShare, encodeShare, ShareError, splitSecret, type Share } from '../crypto/shamir.js';
import type { ApplianceRepository, Database } from '../store/index.js';
import { AtRestSealer } from './at-rest.js';

export const ROOT_KEY_BYTES = 32;
const CHECK_LABEL = 'kura root key check v1';

export type SealState = 'uninitialized' | 'sealed' | 'unsealed';

export interface SealStatus {
  state: SealState;
  mode: 'shamir' | 'dev' | null;
  threshold: number | null;
  shares: number | null;
  /** Shares accepted so far towards the threshold (shamir, while sealed). */
  progress: number;
}

export function rootKeyCheckValue(root: Uint8Array): Buffer {
  return createHmac('sha256', root).update(CHECK_LABEL).digest();
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

  constructor(
    private readonly deps: { db: Database; appliance: ApplianceRepository; aead: Aead; clock: Clock; applianceId: string },
  ) {}

  /** Reads whether the appliance is initialized; call once at start. */
  async load(): Promise<void> {
    this.initialized = (await this.deps.appliance.sealConfig()) !== undefined;
  }

  async status(): Promise<SealStatus> {
    const cfg = await this.deps.appliance.sealConfig();
    if (!cfg) return { state: 'uninitialized', mode: null, threshold: null, shares: null, progress: 0 };
    return {
      state: this.derived ? 'unsealed' : 'sealed',
      mode: cfg.mode,
      threshold: cfg.threshold,
      shares: cfg.shareCount,
      progress: this.derived ? 0 : this.pending.length,
    };
  }

  get isUnsealed(): boolean {
    return this.derived !== undefined;
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
    if (cfg!.mode !== 'dev') throw new KmsError('InvalidState', 'This data directory is sealed with Shamir shares; it cannot be opened in dev mode.');
    if (!constantTimeEqual(rootKeyCheckValue(root), cfg!.checkValue)) {
      throw new KmsError('InvalidState', 'The dev root key file does not match this data directory.');
    }
    this.unsealWith(root);
  }

  private async writeSealConfig(mode: 'shamir' | 'dev', threshold: number, shareCount: number, setId: string, root: Uint8Array): Promise<void> {
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
  async submitShares(texts: string[]): Promise<SealStatus> {
    const cfg = await this.deps.appliance.sealConfig();
    if (!cfg) throw new KmsError('NotInitialized', 'Kura is not initialized: run `kura init` first.');
    if (this.derived) return this.status();
    if (cfg.mode !== 'shamir') throw new KmsError('InvalidState', 'This appliance is in dev mode; it unseals from its key file at start.');
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
    let root: Buffer | undefined;
    try {
      root = combineShares(this.pending);
    } catch {
      throw this.refuse('The shares given do not belong together; at least one of them is wrong.');
    }
    try {
      if (!constantTimeEqual(rootKeyCheckValue(root), cfg.checkValue)) {
        throw this.refuse('The shares given do not recombine to this appliance\'s root key; at least one of them is wrong. Start again with every share.');
      }
      this.unsealWith(root);
    } finally {
      zeroize(root);
      this.clearPending();
    }
    return this.status();
  }

  private refuse(message: string): KmsError {
    this.clearPending();
    return new KmsError('AccessDenied', message);
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

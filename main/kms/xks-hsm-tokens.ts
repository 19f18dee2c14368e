// The HSM tokens behind the XKS proxy's stores on an HSM (`kura xks stores create --hsm`, issue 12: "AES-256-GCM
// on the key's backing (HSM key store via PKCS#11 …)"). A store keeps the token's user PIN sealed under the
// root key (AAD kura/xks/store-pin/v1 and the store's ID); its token is connected on first use, once —
// concurrent calls wait for the same connection — and the store's calls share it from then on. It is closed
// when the appliance seals (the PIN is sealed with the root key) and when the store is deleted.
//
// A token that fails mid-use (removed, its files deleted …: the connection's onFailure) or that cannot be
// connected is forgotten, so the next call tries again: an XKS call meanwhile answers DependencyTimeout,
// which AWS KMS retries. The connector shares one login per token and process (main/keystores/hsm/connect.ts),
// so a token can back an AWS_CLOUDHSM custom key store and XKS proxy stores at once.
//
// A token that refuses the store's PIN (INVALID_CREDENTIALS, USER_LOCKED_OUT, USER_NOT_FOUND: its PIN
// changed with `pkcs11-tool --change-pin`, say) is not tried again with it: AWS KMS calls every minute
// and retries, and a real token locks its user PIN after a few wrong ones — Kura would lock the HSM
// itself. The refusal is kept for that store and that sealed PIN, and its calls answer KeyUnavailable
// at once, until the store is given a PIN that logs in (`kura xks stores update`), the appliance seals
// (each unseal allows one try again), or the store is deleted.
//
// `kura hsm keys --hsm` lists a token's keys through a store's live connection (liveConnection), and
// never connects one for it.
import { KmsError, kmsErrors } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { encodeAad } from '../seal/at-rest.js';
import type { RootKeyHolder } from '../seal/root-key.js';
import type { HsmRecord, Store, XksStoreRecord } from '../store/index.js';
import { connectionErrorCodeOf, connectWithSealedPin, tokenConfigOf, type ConnectedHsm, type HsmConnectionErrorCode, type HsmConnector } from './custom-key-stores.js';

/** What a store's PIN is sealed with: its own label, so that no other sealed value opens in its place. */
export const xksPinAad = (storeId: string) => encodeAad('kura/xks/store-pin/v1', storeId);

export interface XksHsmTokensDeps {
  store: Pick<Store, 'hsms'>;
  connector: HsmConnector;
  root: RootKeyHolder;
  log: Logger;
}

const isLive = (c: ConnectedHsm): boolean => c.connectionState() === 'CONNECTED' && c.failure() === undefined;

/** The connection errors that say the token refused the PIN itself: trying it again only counts towards a lock-out. */
const PIN_REFUSALS: ReadonlySet<HsmConnectionErrorCode> = new Set(['INVALID_CREDENTIALS', 'USER_LOCKED_OUT', 'USER_NOT_FOUND']);

/** A store's PIN that its token refused: the sealed PIN, so that another one (the row changed) is tried. */
interface Refusal {
  pinSealed: Buffer;
  code: HsmConnectionErrorCode;
  tokenLabel: string;
}

const refusedMessage = (storeId: string, r: Refusal): string =>
  `the token "${r.tokenLabel}" refused the PIN of XKS proxy store ${storeId} (${r.code}); Kura does not try it again, ` +
  `so that the token does not lock its user PIN: give the store the token's PIN with \`kura xks stores update --store ${storeId} --pin-file FILE\``;

export class XksHsmTokens {
  /** Per store ID: its connection, or the connecting under way. */
  private readonly live = new Map<string, Promise<ConnectedHsm>>();
  /** Stores deleted: a call that read one before its deletion (a health check) must not connect it again. */
  private readonly deleted = new Set<string>();
  /** Per store ID: the PIN its token refused, not tried again (see the header). */
  private readonly refused = new Map<string, Refusal>();

  constructor(private readonly deps: XksHsmTokensDeps) {
    deps.root.onSeal(() => {
      this.refused.clear();
      void this.closeAll();
    });
  }

  /** Whether the store's token refused its PIN, and the store's calls fail without trying it (see the header). */
  isRefused(s: XksStoreRecord): boolean {
    const r = this.refused.get(s.id);
    return r !== undefined && s.pinSealed !== null && r.pinSealed.equals(s.pinSealed);
  }

  /**
   * Logs in to an HSM's token with a PIN an operator gave (a store being made). A KmsError that names
   * AWS's ConnectionErrorCode (INVALID_CREDENTIALS for a wrong PIN) when it cannot; the PIN is in no message.
   */
  async login(hsm: HsmRecord, pin: string): Promise<ConnectedHsm> {
    try {
      return await this.deps.connector.connect({ ...tokenConfigOf(hsm), pin });
    } catch (e) {
      throw new KmsError('CloudHsmClusterInvalidConfiguration', `Logging in to the token "${hsm.tokenLabel}" of HSM ${hsm.id} failed (${connectionErrorCodeOf(e)}): check the PIN and \`kura hsm test ${hsm.id}\`.`);
    }
  }

  /**
   * The connection of a store on an HSM, made if there is none or the last one failed. Throws KmsError
   * KeyUnavailable (the token cannot be reached or logged in to) or Sealed.
   */
  async connection(s: XksStoreRecord): Promise<ConnectedHsm> {
    if (this.deleted.has(s.id)) throw new KmsError('KeyUnavailable', `XKS proxy store ${s.id} was deleted.`);
    const refusal = this.refused.get(s.id);
    if (refusal && this.isRefused(s)) throw new KmsError('KeyUnavailable', refusedMessage(s.id, refusal));
    const pending = this.live.get(s.id);
    if (pending) {
      const c = await pending;
      if (isLive(c)) return c;
      this.forget(s.id, pending);
    }
    return this.live.get(s.id) ?? this.open(s);
  }

  /**
   * The store's connection if it has a live one now (a connect under way is waited for), never making
   * one: what `kura hsm keys --hsm` lists a token through (./hsm-token-keys.ts), which must not offer the
   * token a PIN on an operator's listing.
   */
  async liveConnection(storeId: string): Promise<ConnectedHsm | undefined> {
    const pending = this.live.get(storeId);
    if (!pending) return undefined;
    const c = await pending.catch(() => undefined);
    return c && this.live.get(storeId) === pending && isLive(c) ? c : undefined;
  }

  private open(s: XksStoreRecord): Promise<ConnectedHsm> {
    const connecting: Promise<ConnectedHsm> = this.connect(s, {
      current: () => this.live.get(s.id) === connecting,
      failed: () => this.forget(s.id, connecting),
    });
    this.live.set(s.id, connecting);
    connecting.catch(() => {
      if (this.live.get(s.id) === connecting) this.live.delete(s.id);
    });
    return connecting;
  }

  /** Connects a store's token with its PIN; `current` says whether this connection is still wanted when it is made. */
  private async connect(s: XksStoreRecord, hooks: { current(): boolean; failed(): void }): Promise<ConnectedHsm> {
    const { hsmId, pinSealed } = s;
    if (hsmId === null || pinSealed === null) throw kmsErrors.internal(`XKS proxy store ${s.id} is not on an HSM.`);
    const hsm = await this.deps.store.hsms.find(hsmId);
    if (!hsm) throw new KmsError('KeyUnavailable', `HSM ${hsmId} is not registered with Kura any more (see \`kura hsm list\`).`);
    if (!this.deps.root.isUnsealed) throw kmsErrors.sealed();
    let c: ConnectedHsm;
    try {
      c = await connectWithSealedPin(this.deps, hsm, pinSealed, xksPinAad(s.id));
    } catch (e) {
      const code = connectionErrorCodeOf(e);
      // Sealed while connecting: the PIN could not be opened, and was never offered to the token.
      if (PIN_REFUSALS.has(code) && this.deps.root.isUnsealed && !this.deleted.has(s.id)) {
        const refusal = { pinSealed: Buffer.from(pinSealed), code, tokenLabel: hsm.tokenLabel };
        this.refused.set(s.id, refusal);
        this.deps.log.warn('XKS proxy store: its HSM token cannot be connected: it refused the PIN, which is not tried again until the store is given one', { xksStoreId: s.id, hsmId, errorCode: code });
        throw new KmsError('KeyUnavailable', refusedMessage(s.id, refusal));
      }
      this.deps.log.warn('XKS proxy store: its HSM token cannot be connected', { xksStoreId: s.id, hsmId, errorCode: code });
      throw new KmsError('KeyUnavailable', `the token "${hsm.tokenLabel}" cannot be used (${code})`);
    }
    // Sealed, or the store deleted, while connecting: this connection is nobody's.
    if (!hooks.current() || this.deleted.has(s.id)) {
      await c.close();
      throw this.deps.root.isUnsealed ? new KmsError('KeyUnavailable', `XKS proxy store ${s.id} was closed`) : kmsErrors.sealed();
    }
    c.onFailure((code) => {
      this.deps.log.error('XKS proxy store: its HSM token failed; the next call connects again', { xksStoreId: s.id, hsmId, errorCode: code });
      hooks.failed();
    });
    return c;
  }

  /** Drops a store's connection if it is still this one, and closes it. */
  private forget(storeId: string, which: Promise<ConnectedHsm>): void {
    if (this.live.get(storeId) !== which) return;
    this.live.delete(storeId);
    void this.closeQuietly(storeId, which);
  }

  private async closeQuietly(storeId: string, which: Promise<ConnectedHsm>): Promise<void> {
    let c: ConnectedHsm;
    try {
      c = await which;
    } catch {
      return;
    }
    try {
      await c.close();
    } catch (e) {
      this.deps.log.warn('closing an XKS proxy store\'s HSM connection failed', { xksStoreId: storeId, error: e instanceof Error ? e.name : typeof e });
    }
  }

  /** The store is deleted: its connection closes, and none is made for it again (store IDs are never reused). */
  async closeDeleted(storeId: string): Promise<void> {
    this.deleted.add(storeId);
    this.refused.delete(storeId);
    await this.close(storeId);
  }

  /** The store was given a new PIN (one that logged in): its connection with the old one closes, and a refusal of it is forgotten. */
  async renewed(storeId: string): Promise<void> {
    this.refused.delete(storeId);
    await this.close(storeId);
  }

  /** Closes a store's connection, if any. */
  async close(storeId: string): Promise<void> {
    const which = this.live.get(storeId);
    if (!which) return;
    this.live.delete(storeId);
    await this.closeQuietly(storeId, which);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.live.keys()].map((id) => this.close(id)));
  }
}

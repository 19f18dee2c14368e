// Blob keys on an HSM token, derived once per epoch. Deriving a blob key on the token (C_DeriveKey, then
// C_DestroyObject) costs three times the AES-GCM it is for (SoftHSM2 2.6: 78 µs against 25 µs per
// 32-byte blob), so the HSM key store does not derive one per blob: for each material it hands out one
// header nonce for an epoch — at most EPOCH_BLOBS blobs or EPOCH_MS, whichever ends first — and the
// blobs of an epoch share the key derived over it (the blob format is unchanged: a blob's key is still
// derived from the material over its header; the headers of an epoch are the same). Each blob keeps its
// own random 96-bit IV: at 2^20 blobs per key, the chance of two IVs meeting is under 2^-57, far inside
// SP 800-38D's bound of 2^32 random IVs per key.
//
// Derived keys are session objects of the login session (sensitive, not extractable, never on the
// token's storage), kept by handle in a bounded LRU, so decrypting recent blobs derives nothing either.
// The login session lives as long as the connection, so no handle outlives its object; every handle is
// forgotten when the connection ends, fails or is sealed, and a material's when it is destroyed.
import { Serial } from '../../common/serial.js';
import { randomBytes } from '../../crypto/bytes.js';
import { meaningOf, type Pkcs11Session } from '../../devices/pkcs11/index.js';
import type { Handle } from 'pkcs11js';

/** Blobs per epoch: a derived key meets at most this many random IVs. */
export const EPOCH_BLOBS = 1 << 20;
/** How long an epoch lasts at most. */
export const EPOCH_MS = 10 * 60_000;
/** Derived keys kept at once (session objects on the token); the least recently used goes first. */
export const MAX_BLOB_KEYS = 1_024;

interface Epoch {
  nonce: Buffer;
  uses: number;
  startedAt: number;
}

/** The fewest derived keys a token out of memory still keeps (below that, its memory is not Kura's doing). */
const MIN_BLOB_KEYS = 16;

export class BlobKeys {
  private readonly keys = new Map<string, Handle>();
  /** How many derived keys to keep: MAX_BLOB_KEYS, lowered each time the token runs out of memory for them. */
  private cap: number;
  private readonly pending = new Map<string, Promise<Handle>>();
  private readonly epochs = new Map<string, Epoch>();
  /** Moves on at each clear(): a derivation from before it made its key in a login session that has ended. */
  private generation = 0;
  /** Derivations and destructions on the login session, one at a time (a session is not for concurrent use). */
  private readonly queue = new Serial();

  constructor(
    private readonly deps: {
      /** The session that holds the login: derived keys are its objects. */
      login: Pkcs11Session;
      nowMs?: () => number;
      maxKeys?: number;
      epochBlobs?: number;
    },
  ) {
    this.cap = deps.maxKeys ?? MAX_BLOB_KEYS;
  }

  private now(): number {
    return (this.deps.nowMs ?? Date.now)();
  }

  /** The header nonce for the next blob of a material (`id`: its token object's CKA_ID, hex). */
  nonce(id: string, bytes: number): Buffer {
    const now = this.now();
    let e = this.epochs.get(id);
    if (!e || e.nonce.length !== bytes || e.uses >= (this.deps.epochBlobs ?? EPOCH_BLOBS) || now - e.startedAt >= EPOCH_MS) {
      e = { nonce: randomBytes(bytes), uses: 0, startedAt: now };
      this.epochs.set(id, e);
    }
    e.uses += 1;
    return e.nonce;
  }

  /** The blob key for a derivation input under a material's token key: cached, or derived now. */
  async get(id: string, base: Handle, input: Buffer, derive: (login: Pkcs11Session, base: Handle, input: Buffer) => Promise<Handle>): Promise<Handle> {
    const name = `${id}/${input.toString('hex')}`;
    const cached = this.keys.get(name);
    if (cached !== undefined) {
      // Most recently used last: the map's order is the eviction order.
      this.keys.delete(name);
      this.keys.set(name, cached);
      return cached;
    }
    let made = this.pending.get(name);
    if (!made) {
      made = this.serially(async () => {
        try {
          return await derive(this.deps.login, base, input);
        } catch (e) {
          // A token with less room for session objects than the cache would take (CKR_DEVICE_MEMORY):
          // the cache keeps half of what it holds from now on, and the derivation is tried once more.
          if (meaningOf(e) !== 'device-memory' || this.keys.size <= MIN_BLOB_KEYS) throw e;
          this.cap = Math.max(MIN_BLOB_KEYS, Math.floor(this.keys.size / 2));
          await this.shrinkNow();
          return derive(this.deps.login, base, input);
        }
      });
      this.pending.set(name, made);
      const derivation = made;
      const generation = this.generation;
      // A derivation that drop() or clear() overtook is not cached: its material was destroyed (the key
      // is destroyed too, in the login session that still holds it), or its login session has ended
      // (the key went with it). The calls that asked for it still get the handle.
      void made.then(
        (h) => {
          const current = this.pending.get(name) === derivation;
          if (current) {
            this.pending.delete(name);
            this.keys.set(name, h);
            this.evict();
          } else if (generation === this.generation) {
            void this.serially(async () => this.deps.login.destroySessionKey(h)).catch(() => undefined);
          }
        },
        () => {
          if (this.pending.get(name) === derivation) this.pending.delete(name);
        },
      );
    }
    return made;
  }

  /** Forgets (and destroys) the derived keys and the epoch of one material: it is destroyed, or its handle went stale. */
  drop(id: string): void {
    this.epochs.delete(id);
    for (const name of this.pending.keys()) if (name.startsWith(`${id}/`)) this.pending.delete(name);
    for (const [name, h] of this.keys) {
      if (!name.startsWith(`${id}/`)) continue;
      this.keys.delete(name);
      void this.serially(async () => this.deps.login.destroySessionKey(h));
    }
  }

  /** The login session is ending (logout, failure, seal): its objects go with it; only the handles are forgotten. */
  clear(): void {
    this.generation++;
    this.keys.clear();
    this.pending.clear();
    this.epochs.clear();
  }

  get size(): number {
    return this.keys.size;
  }

  /** Destroys the least recently used keys beyond the cap, in the caller's turn of the queue. */
  private async shrinkNow(): Promise<void> {
    for (const [name, h] of this.keys) {
      if (this.keys.size <= this.cap) break;
      this.keys.delete(name);
      try {
        await this.deps.login.destroySessionKey(h);
      } catch {
        // Gone with its session, or refused: the handle is forgotten either way.
      }
    }
  }

  private evict(): void {
    const max = this.cap;
    for (const [name, h] of this.keys) {
      if (this.keys.size <= max) break;
      this.keys.delete(name);
      void this.serially(async () => this.deps.login.destroySessionKey(h));
    }
  }

  private serially<T>(fn: () => Promise<T>): Promise<T> {
    return this.queue.run(fn);
  }
}

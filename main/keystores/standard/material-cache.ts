// The standard key store's cache of unsealed materials, so that an Encrypt or Sign does not unseal its
// material every time: for symmetric material the raw bytes (the per-blob KDF's input) and, once a
// version-1 blob needs it, the material's own AEAD handle; for private material a parsed key (parsing
// PKCS#8 costs more than an ECDSA signature) or the raw bytes of an HMAC key; parsed public keys.
// Every entry is wiped when it leaves — bytes zeroized, handles destroyed or disposed — on eviction, on
// replacement, when its material is destroyed and when the appliance seals. Entries never leave the
// standard key store; callers inside it use them synchronously and never keep them across an await.
//
// A call that resolved its material before the material was destroyed (DeleteImportedKeyMaterial, the
// end of a key's deletion window) may still unseal it afterwards: it was admitted, and it finishes. What
// it unseals must not outlive it, though: the cache remembers the references of destroyed materials
// (their SHA-256) and does not keep an entry made from one; that entry serves its call and is wiped once
// the call's synchronous use of it is over. The same material imported again has a new reference.
import type { AeadKey } from '../../crypto/aead.js';
import type { PrivateKeyHandle, PublicKeyHandle } from '../../crypto/asymmetric/index.js';
import { createHash } from 'node:crypto';
import { zeroize } from '../../crypto/bytes.js';

/** A private material as the primitives take it: raw bytes for HMAC keys, a parsed key otherwise. */
export type PrivateMaterial = Buffer | PrivateKeyHandle;

export type CachedMaterial =
  | { kind: 'symmetric'; raw: Buffer; handle: AeadKey | undefined }
  | { kind: 'private'; material: PrivateMaterial }
  | { kind: 'public'; handle: PublicKeyHandle };

function wipe(c: CachedMaterial): void {
  if (c.kind === 'symmetric') {
    zeroize(c.raw);
    c.handle?.destroy();
  } else if (c.kind === 'private') {
    if (Buffer.isBuffer(c.material)) zeroize(c.material);
    else c.material.dispose();
  }
}

/** Entry IDs: `keyId/materialId` for secret material, `keyId/materialId/public` for its public key. */
export const entryId = (keyId: string, materialId: string): string => `${keyId}/${materialId}`;
export const publicEntryId = (keyId: string, materialId: string): string => `${keyId}/${materialId}/public`;

/** How many destroyed references the cache remembers (oldest forgotten first); a call outlives none for long. */
const DESTROYED_REMEMBERED = 4096;

const refDigest = (ref: Uint8Array): string => createHash('sha256').update(ref).digest('base64');

export class MaterialCache {
  private readonly entries = new Map<string, CachedMaterial>();
  private readonly destroyed = new Set<string>();

  constructor(private readonly maxEntries = 10_000) {}

  get(id: string): CachedMaterial | undefined {
    return this.entries.get(id);
  }

  /**
   * Keeps an entry made from `ref`, wiping the one it replaces and, when full, the oldest — unless `ref`
   * belongs to a destroyed material: then the entry is not kept and is wiped after the caller's
   * synchronous use (a microtask runs only once the current call stack has returned).
   */
  put(id: string, entry: CachedMaterial, ref?: Uint8Array): void {
    if (ref && this.destroyed.size > 0 && this.destroyed.has(refDigest(ref))) {
      queueMicrotask(() => wipe(entry));
      return;
    }
    this.drop(id);
    if (this.entries.size >= this.maxEntries) this.drop(this.entries.keys().next().value as string);
    this.entries.set(id, entry);
  }

  /** Wipes and drops the entries of one material (its secret part and its public key). */
  dropMaterial(keyId: string, materialId: string): void {
    this.drop(entryId(keyId, materialId));
    this.drop(publicEntryId(keyId, materialId));
  }

  /** The material of `ref` is destroyed: its entries go now, and none made from `ref` later is kept. */
  destroyedMaterial(keyId: string, materialId: string, ref: Uint8Array): void {
    this.dropMaterial(keyId, materialId);
    const digest = refDigest(ref);
    this.destroyed.delete(digest);
    this.destroyed.add(digest);
    if (this.destroyed.size > DESTROYED_REMEMBERED) this.destroyed.delete(this.destroyed.values().next().value as string);
  }

  wipeAll(): void {
    for (const entry of this.entries.values()) wipe(entry);
    this.entries.clear();
  }

  private drop(id: string): void {
    const entry = this.entries.get(id);
    if (!entry) return;
    wipe(entry);
    this.entries.delete(id);
  }
}

// The standard key store's cache of unsealed materials, so that an Encrypt or Sign does not unseal its
// material every time: for symmetric material the raw bytes (the per-blob KDF's input) and, once a
// version-1 blob needs it, the material's own AEAD handle; for private material a parsed key (parsing
// PKCS#8 costs more than an ECDSA signature) or the raw bytes of an HMAC key; parsed public keys.
// Every entry is wiped when it leaves — bytes zeroized, handles destroyed or disposed — on eviction, on
// replacement, when its material is destroyed and when the appliance seals. Entries never leave the
// standard key store; callers inside it use them synchronously and never keep them across an await.
import type { AeadKey } from '../../crypto/aead.js';
import type { PrivateKeyHandle, PublicKeyHandle } from '../../crypto/asymmetric/index.js';
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

export class MaterialCache {
  private readonly entries = new Map<string, CachedMaterial>();

  constructor(private readonly maxEntries = 10_000) {}

  get(id: string): CachedMaterial | undefined {
    return this.entries.get(id);
  }

  /** Keeps an entry, wiping the one it replaces and, when full, the oldest. */
  put(id: string, entry: CachedMaterial): void {
    this.drop(id);
    if (this.entries.size >= this.maxEntries) this.drop(this.entries.keys().next().value as string);
    this.entries.set(id, entry);
  }

  /** Wipes and drops the entries of one material (its secret part and its public key). */
  dropMaterial(keyId: string, materialId: string): void {
    this.drop(entryId(keyId, materialId));
    this.drop(publicEntryId(keyId, materialId));
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

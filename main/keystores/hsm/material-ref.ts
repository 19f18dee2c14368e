// What the HSM key store hands the KMS domain for a key it made on a token, and the per-blob input of
// the token's key derivation (docs/ciphertext-format.md, "Version 2 on an HSM token").
//
// Material reference (opaque to kms/): version 0x01 || length 0x10 || CKA_ID (16 random bytes). The key
// is found again by CKA_ID and CKO_SECRET_KEY, never by handle (handles die with the module's
// initialisation) nor by label (an operator may relabel). Material ID: SHA-256 of a domain label and
// the CKA_ID, so it has AWS's shape (64 hex characters) and says nothing an attacker could use.
import { createHash, hash } from 'node:crypto';
import { KmsError } from '../../common/errors.js';
import { sp800108FixedInput } from '../../crypto/kdf.js';
import { materialRefFromStorage, type MaterialRef } from '../key-store.js';

const REF_VERSION = 0x01;
export const CKA_ID_BYTES = 16;
const MATERIAL_ID_LABEL = Buffer.from('kura/hsm/material-id\0', 'ascii');
const BLOB_KEY_LABEL = Buffer.from('kura/hsm/blob-key/v2\0', 'ascii');

export const encodeMaterialRef = (ckaId: Buffer): MaterialRef => materialRefFromStorage(Buffer.concat([Buffer.of(REF_VERSION, CKA_ID_BYTES), ckaId]));

/** The CKA_ID of a reference this store made; anything else is refused. */
export function decodeMaterialRef(ref: Uint8Array): Buffer {
  if (ref.length !== 2 + CKA_ID_BYTES || ref[0] !== REF_VERSION || ref[1] !== CKA_ID_BYTES) {
    throw new KmsError('Internal', 'The key material reference was not made by an HSM key store.');
  }
  return Buffer.from(ref.subarray(2));
}

export const materialIdOf = (ckaId: Buffer): string => createHash('sha256').update(MATERIAL_ID_LABEL).update(ckaId).digest('hex');

/**
 * The 32 bytes the token encrypts (CKM_AES_CBC_ENCRYPT_DATA, zero IV) into a blob's key:
 * 0x01 || H[0..15) || 0x02 || H[15..30), H = SHA-256("kura/hsm/blob-key/v2" || 0x00 || SP 800-108 fixed
 * input of the blob). The two blocks differ in their first byte, so they are distinct by construction,
 * and each blob's 240 bits of H make its key its own.
 */
export function blobKeyInput(derivation: { label: Uint8Array; context: Uint8Array; length: number }): Buffer {
  // One-shot hash over one buffer: this runs for every blob an HSM key encrypts or decrypts.
  const h = hash('sha256', Buffer.concat([BLOB_KEY_LABEL, sp800108FixedInput(derivation.label, derivation.context, derivation.length)]), 'buffer');
  const out = Buffer.alloc(32);
  out[0] = 0x01;
  h.copy(out, 1, 0, 15);
  out[16] = 0x02;
  h.copy(out, 17, 15, 30);
  return out;
}

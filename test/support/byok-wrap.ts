// Key material wrapped for a BYOK import as the AWS KMS Developer Guide ("Encrypt key material") and the
// console's wizard (renderer/lib/openssl.ts) say, with the openssl command line in `dir`: 32 random bytes
// (PlaintextKeyMaterial.bin) encrypted by RSAES_OAEP_SHA_256 to the downloaded WrappingPublicKey.bin
// (DER) into EncryptedKeyMaterial.bin. The console's end-to-end tests wrap with it.
import { execFileSync } from 'node:child_process';

/** The documented `openssl pkeyutl` arguments (the wizard shows this command; the tests compare). */
export const PKEYUTL_WRAP_OAEP_SHA256 = [
  'pkeyutl', '-encrypt', '-in', 'PlaintextKeyMaterial.bin', '-out', 'EncryptedKeyMaterial.bin', '-inkey', 'WrappingPublicKey.bin', '-keyform', 'DER', '-pubin',
  '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256',
];

/** Makes PlaintextKeyMaterial.bin and wraps it into EncryptedKeyMaterial.bin, in `dir` (WrappingPublicKey.bin must be there). */
export function wrapKeyMaterial(dir: string): void {
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  openssl('rand', '-out', 'PlaintextKeyMaterial.bin', '32');
  openssl(...PKEYUTL_WRAP_OAEP_SHA256);
}

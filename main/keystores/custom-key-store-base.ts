// What AWS custom key stores (AWS_CLOUDHSM and EXTERNAL_KEY_STORE alike) refuse: they hold symmetric
// encryption keys only (SYMMETRIC_DEFAULT, ENCRYPT_DECRYPT) and take no imported material, so every
// asymmetric, MAC and import operation of the KeyStore port answers UnsupportedOperation. The HSM and
// external key stores extend this and implement the rest.
import { KmsError } from '../common/errors.js';
import type { MaterialRef, NewMaterial } from './key-store.js';

export const SYMMETRIC_DEFAULT = 'SYMMETRIC_DEFAULT';

export abstract class CustomKeyStoreBase {
  readonly importsMaterial = false;

  /** `what` names the store in refusals: "An HSM key store", "An external key store". */
  protected constructor(private readonly what: string) {}

  /** UnsupportedOperation: "<what> cannot <doing>." */
  protected unsupported(doing: string): KmsError {
    return new KmsError('UnsupportedOperation', `${this.what} cannot ${doing}.`);
  }

  /** AWS custom key stores hold symmetric encryption keys only. */
  supports(spec: string, usage?: string): boolean {
    return spec === SYMMETRIC_DEFAULT && (usage === undefined || usage === 'ENCRYPT_DECRYPT');
  }

  async importMaterial(): Promise<NewMaterial> {
    throw this.unsupported('import key material (AWS custom key stores take none)');
  }

  async createWrappingKey(): Promise<{ publicKey: Buffer; ref: MaterialRef }> {
    throw this.unsupported('import key material (AWS custom key stores take none)');
  }

  async encryptAsymmetric(): Promise<Buffer> {
    throw this.unsupported('encrypt with asymmetric keys');
  }

  async decryptAsymmetric(): Promise<Buffer> {
    throw this.unsupported('decrypt with asymmetric keys');
  }

  async sign(): Promise<Buffer> {
    throw this.unsupported('sign');
  }

  async verify(): Promise<boolean> {
    throw this.unsupported('verify signatures');
  }

  async generateMac(): Promise<Buffer> {
    throw this.unsupported('generate MACs');
  }

  async verifyMac(): Promise<boolean> {
    throw this.unsupported('verify MACs');
  }

  async deriveSharedSecret(): Promise<Buffer> {
    throw this.unsupported('derive shared secrets');
  }
}

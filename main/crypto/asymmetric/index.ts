// Kura's asymmetric, HMAC and key agreement primitives for every non-symmetric AWS KMS key spec: key
// generation (keys.ts, which dispatches to one module per key family: rsa.ts, ec.ts, ed25519.ts,
// ml-dsa.ts), parsed keys a caller may hold (handles.ts), Sign/Verify (sign.ts), asymmetric
// Encrypt/Decrypt (oaep.ts), GenerateMac/VerifyMac (mac.ts), DeriveSharedSecret (ecdh.ts), and the AWS
// facts they follow (specs.ts). Failures a request can cause are AsymmetricInputError with a reason
// (errors.ts), for the KMS layer to map to AWS error names.
export * from './specs.js';
export { ASYMMETRIC_INPUT_ERROR_REASONS, AsymmetricInputError, isAsymmetricInputError, type AsymmetricInputErrorReason } from './errors.js';
export { generateKeyMaterial, generateKeyMaterialAsync, publicKeyOf, type KeyMaterial } from './keys.js';
export { PrivateKeyHandle, PublicKeyHandle, loadPrivateKey, loadPublicKey } from './handles.js';
export { sign, signAsync, verify, validateSigningRequest, sm2DsaDigest } from './sign.js';
export { asymmetricEncrypt, asymmetricDecrypt, rsaOaepEncrypt, rsaOaepDecrypt } from './oaep.js';
export { generateMac, verifyMac } from './mac.js';
export { deriveSharedSecret } from './ecdh.js';

// AWS KMS facts about key specs, as data: which key usages each spec allows, which signing, encryption,
// MAC and key agreement algorithms go with it, which message types each signing algorithm accepts, how
// long a DIGEST must be, and how much plaintext RSA-OAEP and SM2PKE take.
//
// Sources, checked by hand (nothing here is read at run time):
// - the AWS KMS API model, kms-2014-11-01 (enums KeySpec, KeyUsageType, SigningAlgorithmSpec,
//   EncryptionAlgorithmSpec, MacAlgorithmSpec, KeyAgreementAlgorithmSpec, MessageType, DataKeyPairSpec;
//   the CreateKey KeyUsage rules; the Sign/Verify MessageType rules; the Encrypt plaintext limits);
// - the AWS KMS Developer Guide, "Key spec reference" (RSA, elliptic curve, SM2, HMAC and ML-DSA key
//   specs), "ML-DSA keys in AWS KMS" and "Offline verification with SM2 key pairs".
//
// SYMMETRIC_DEFAULT is not here: the symmetric path (AES-256-GCM on the WASM core) owns it.

export const KEY_SPECS = [
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'ECC_NIST_EDWARDS25519',
  'HMAC_224',
  'HMAC_256',
  'HMAC_384',
  'HMAC_512',
  'ML_DSA_44',
  'ML_DSA_65',
  'ML_DSA_87',
  'SM2',
] as const;
export type KeySpec = (typeof KEY_SPECS)[number];

export const KEY_USAGES = ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT'] as const;
export type KeyUsage = (typeof KEY_USAGES)[number];

export const SIGNING_ALGORITHMS = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
  'ECDSA_SHA_256',
  'ECDSA_SHA_384',
  'ECDSA_SHA_512',
  'SM2DSA',
  'ML_DSA_SHAKE_256',
  'ED25519_SHA_512',
  'ED25519_PH_SHA_512',
] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

/** The asymmetric members of EncryptionAlgorithmSpec (SYMMETRIC_DEFAULT belongs to the symmetric path). */
export const ASYMMETRIC_ENCRYPTION_ALGORITHMS = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE'] as const;
export type AsymmetricEncryptionAlgorithm = (typeof ASYMMETRIC_ENCRYPTION_ALGORITHMS)[number];
export type RsaOaepAlgorithm = Exclude<AsymmetricEncryptionAlgorithm, 'SM2PKE'>;

export const MAC_ALGORITHMS = ['HMAC_SHA_224', 'HMAC_SHA_256', 'HMAC_SHA_384', 'HMAC_SHA_512'] as const;
export type MacAlgorithm = (typeof MAC_ALGORITHMS)[number];

export const KEY_AGREEMENT_ALGORITHMS = ['ECDH'] as const;
export type KeyAgreementAlgorithm = (typeof KEY_AGREEMENT_ALGORITHMS)[number];

export const MESSAGE_TYPES = ['RAW', 'DIGEST', 'EXTERNAL_MU'] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** DataKeyPairSpec: what GenerateDataKeyPair(WithoutPlaintext) may be asked for. No HMAC, no ML-DSA. */
export const DATA_KEY_PAIR_SPECS = [
  'RSA_2048',
  'RSA_3072',
  'RSA_4096',
  'ECC_NIST_P256',
  'ECC_NIST_P384',
  'ECC_NIST_P521',
  'ECC_SECG_P256K1',
  'SM2',
  'ECC_NIST_EDWARDS25519',
] as const satisfies readonly KeySpec[];
export type DataKeyPairSpec = (typeof DATA_KEY_PAIR_SPECS)[number];

/** Sign, Verify, GenerateMac and VerifyMac take messages of 0–4096 bytes (PlaintextType). */
export const MAX_MESSAGE_BYTES = 4096;
/** EXTERNAL_MU messages are the 64-byte μ of FIPS 204 section 6.2. */
export const EXTERNAL_MU_BYTES = 64;
/** Encrypt with SM2PKE: at most 1024 bytes of plaintext (the Encrypt API reference). */
export const SM2PKE_MAX_PLAINTEXT_BYTES = 1024;
/**
 * SM2DSA's default distinguishing ID (GM/T 0009-2012), the only one AWS uses for RAW messages. It is
 * hashed into Z_A; OpenSSL 3.0 needs it spelled out (`-pkeyopt distid:1234567812345678`), since its own
 * default is an empty ID.
 */
export const SM2_DEFAULT_DISTINGUISHING_ID = '1234567812345678';

export type HashName = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512' | 'sm3' | 'shake256';
export type KeyFamily = 'rsa' | 'ecc-nist' | 'ecc-secg' | 'ed25519' | 'hmac' | 'ml-dsa' | 'sm2';
export type CurveName = 'P-256' | 'P-384' | 'P-521' | 'secp256k1' | 'SM2' | 'Ed25519';
export type MlDsaParameterSet = 'ML-DSA-44' | 'ML-DSA-65' | 'ML-DSA-87';

export interface KeySpecInfo {
  family: KeyFamily;
  keyUsages: readonly KeyUsage[];
  signingAlgorithms: readonly SigningAlgorithm[];
  encryptionAlgorithms: readonly AsymmetricEncryptionAlgorithm[];
  macAlgorithms: readonly MacAlgorithm[];
  keyAgreementAlgorithms: readonly KeyAgreementAlgorithm[];
  /** RSA modulus length in bits. */
  rsaBits?: number;
  curve?: CurveName;
  /** HMAC key length in bytes: the digest length ("the length of the key determines the MAC algorithm"). */
  hmacKeyBytes?: number;
  mlDsa?: MlDsaParameterSet;
}

const RSA_SIGNING: readonly SigningAlgorithm[] = [
  'RSASSA_PSS_SHA_256',
  'RSASSA_PSS_SHA_384',
  'RSASSA_PSS_SHA_512',
  'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384',
  'RSASSA_PKCS1_V1_5_SHA_512',
];
const RSA_ENCRYPTION: readonly AsymmetricEncryptionAlgorithm[] = ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'];

function rsa(bits: number): KeySpecInfo {
  return {
    family: 'rsa',
    keyUsages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY'],
    signingAlgorithms: RSA_SIGNING,
    encryptionAlgorithms: RSA_ENCRYPTION,
    macAlgorithms: [],
    keyAgreementAlgorithms: [],
    rsaBits: bits,
  };
}

// NIST curves: SIGN_VERIFY or KEY_AGREEMENT; each curve has exactly one ECDSA hash (the guide's table).
function nist(curve: CurveName, signing: SigningAlgorithm): KeySpecInfo {
  return {
    family: 'ecc-nist',
    keyUsages: ['SIGN_VERIFY', 'KEY_AGREEMENT'],
    signingAlgorithms: [signing],
    encryptionAlgorithms: [],
    macAlgorithms: [],
    keyAgreementAlgorithms: ['ECDH'],
    curve,
  };
}

function hmac(keyBytes: number, algorithm: MacAlgorithm): KeySpecInfo {
  return {
    family: 'hmac',
    keyUsages: ['GENERATE_VERIFY_MAC'],
    signingAlgorithms: [],
    encryptionAlgorithms: [],
    macAlgorithms: [algorithm],
    keyAgreementAlgorithms: [],
    hmacKeyBytes: keyBytes,
  };
}

function mlDsa(set: MlDsaParameterSet): KeySpecInfo {
  return {
    family: 'ml-dsa',
    keyUsages: ['SIGN_VERIFY'],
    signingAlgorithms: ['ML_DSA_SHAKE_256'],
    encryptionAlgorithms: [],
    macAlgorithms: [],
    keyAgreementAlgorithms: [],
    mlDsa: set,
  };
}

export const KEY_SPEC_INFO: Readonly<Record<KeySpec, Readonly<KeySpecInfo>>> = {
  RSA_2048: rsa(2048),
  RSA_3072: rsa(3072),
  RSA_4096: rsa(4096),
  ECC_NIST_P256: nist('P-256', 'ECDSA_SHA_256'),
  ECC_NIST_P384: nist('P-384', 'ECDSA_SHA_384'),
  ECC_NIST_P521: nist('P-521', 'ECDSA_SHA_512'),
  // secp256k1 signs only (CreateKey: "For ECC_SECG_P256K1 key pairs, specify SIGN_VERIFY").
  ECC_SECG_P256K1: {
    family: 'ecc-secg',
    keyUsages: ['SIGN_VERIFY'],
    signingAlgorithms: ['ECDSA_SHA_256'],
    encryptionAlgorithms: [],
    macAlgorithms: [],
    keyAgreementAlgorithms: [],
    curve: 'secp256k1',
  },
  // Ed25519 is a NIST curve (FIPS 186-5) but "signing and verification only".
  ECC_NIST_EDWARDS25519: {
    family: 'ed25519',
    keyUsages: ['SIGN_VERIFY'],
    signingAlgorithms: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'],
    encryptionAlgorithms: [],
    macAlgorithms: [],
    keyAgreementAlgorithms: [],
    curve: 'Ed25519',
  },
  HMAC_224: hmac(28, 'HMAC_SHA_224'),
  HMAC_256: hmac(32, 'HMAC_SHA_256'),
  HMAC_384: hmac(48, 'HMAC_SHA_384'),
  HMAC_512: hmac(64, 'HMAC_SHA_512'),
  ML_DSA_44: mlDsa('ML-DSA-44'),
  ML_DSA_65: mlDsa('ML-DSA-65'),
  ML_DSA_87: mlDsa('ML-DSA-87'),
  // SM2 (China Regions): exactly one of ENCRYPT_DECRYPT, SIGN_VERIFY or KEY_AGREEMENT per key.
  SM2: {
    family: 'sm2',
    keyUsages: ['ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'KEY_AGREEMENT'],
    signingAlgorithms: ['SM2DSA'],
    encryptionAlgorithms: ['SM2PKE'],
    macAlgorithms: [],
    keyAgreementAlgorithms: ['ECDH'],
    curve: 'SM2',
  },
};

export interface SigningAlgorithmInfo {
  /** The hash the algorithm applies to a RAW message (for ML-DSA: the SHAKE256 of μ). */
  hash: HashName;
  /** Length a DIGEST message must have (for ML-DSA: the length of an EXTERNAL_MU μ). */
  digestBytes: number;
  messageTypes: readonly MessageType[];
}

const RAW_OR_DIGEST: readonly MessageType[] = ['RAW', 'DIGEST'];

export const SIGNING_ALGORITHM_INFO: Readonly<Record<SigningAlgorithm, Readonly<SigningAlgorithmInfo>>> = {
  RSASSA_PSS_SHA_256: { hash: 'sha256', digestBytes: 32, messageTypes: RAW_OR_DIGEST },
  RSASSA_PSS_SHA_384: { hash: 'sha384', digestBytes: 48, messageTypes: RAW_OR_DIGEST },
  RSASSA_PSS_SHA_512: { hash: 'sha512', digestBytes: 64, messageTypes: RAW_OR_DIGEST },
  RSASSA_PKCS1_V1_5_SHA_256: { hash: 'sha256', digestBytes: 32, messageTypes: RAW_OR_DIGEST },
  RSASSA_PKCS1_V1_5_SHA_384: { hash: 'sha384', digestBytes: 48, messageTypes: RAW_OR_DIGEST },
  RSASSA_PKCS1_V1_5_SHA_512: { hash: 'sha512', digestBytes: 64, messageTypes: RAW_OR_DIGEST },
  ECDSA_SHA_256: { hash: 'sha256', digestBytes: 32, messageTypes: RAW_OR_DIGEST },
  ECDSA_SHA_384: { hash: 'sha384', digestBytes: 48, messageTypes: RAW_OR_DIGEST },
  ECDSA_SHA_512: { hash: 'sha512', digestBytes: 64, messageTypes: RAW_OR_DIGEST },
  // DIGEST is e = SM3(Z_A || M), computed by the caller with whatever distinguishing ID it chose.
  SM2DSA: { hash: 'sm3', digestBytes: 32, messageTypes: RAW_OR_DIGEST },
  // Pure ML-DSA with an empty context over RAW messages, or the 64-byte μ (EXTERNAL_MU); never DIGEST.
  ML_DSA_SHAKE_256: { hash: 'shake256', digestBytes: EXTERNAL_MU_BYTES, messageTypes: ['RAW', 'EXTERNAL_MU'] },
  // "ED25519_SHA_512 requires MessageType:RAW, while ED25519_PH_SHA_512 requires MessageType:DIGEST.
  // These message types cannot be used interchangeably." With DIGEST, KMS still applies Ed25519ph's
  // SHA-512 prehash: the 64-byte input is hashed again (FIPS 186-5 section 7.8.1 step 1).
  ED25519_SHA_512: { hash: 'sha512', digestBytes: 64, messageTypes: ['RAW'] },
  ED25519_PH_SHA_512: { hash: 'sha512', digestBytes: 64, messageTypes: ['DIGEST'] },
};

/** OAEP uses the same hash for the label hash and for MGF1, with an empty label. */
export const OAEP_HASH: Readonly<Record<RsaOaepAlgorithm, { hash: HashName; hashBytes: number }>> = {
  RSAES_OAEP_SHA_1: { hash: 'sha1', hashBytes: 20 },
  RSAES_OAEP_SHA_256: { hash: 'sha256', hashBytes: 32 },
};

/** (key bytes) - 2 * (hash bytes) - 2, RFC 8017 section 7.1.1; AWS's table lists exactly these values. */
export function oaepMaxPlaintextBytes(modulusBits: number, algorithm: RsaOaepAlgorithm): number {
  return Math.ceil(modulusBits / 8) - 2 * OAEP_HASH[algorithm].hashBytes - 2;
}

/** AWS's "Maximum plaintext size (in bytes) in an Encrypt operation" for RSA key specs. */
export const OAEP_MAX_PLAINTEXT_BYTES: Readonly<Record<'RSA_2048' | 'RSA_3072' | 'RSA_4096', Readonly<Record<RsaOaepAlgorithm, number>>>> = {
  RSA_2048: { RSAES_OAEP_SHA_1: 214, RSAES_OAEP_SHA_256: 190 },
  RSA_3072: { RSAES_OAEP_SHA_1: 342, RSAES_OAEP_SHA_256: 318 },
  RSA_4096: { RSAES_OAEP_SHA_1: 470, RSAES_OAEP_SHA_256: 446 },
};

export const MAC_HASH: Readonly<Record<MacAlgorithm, { hash: HashName; macBytes: number }>> = {
  HMAC_SHA_224: { hash: 'sha224', macBytes: 28 },
  HMAC_SHA_256: { hash: 'sha256', macBytes: 32 },
  HMAC_SHA_384: { hash: 'sha384', macBytes: 48 },
  HMAC_SHA_512: { hash: 'sha512', macBytes: 64 },
};

export const isKeySpec = (value: unknown): value is KeySpec => typeof value === 'string' && (KEY_SPECS as readonly string[]).includes(value);
export const isDataKeyPairSpec = (value: unknown): value is DataKeyPairSpec =>
  typeof value === 'string' && (DATA_KEY_PAIR_SPECS as readonly string[]).includes(value);
export const isSigningAlgorithm = (value: unknown): value is SigningAlgorithm =>
  typeof value === 'string' && (SIGNING_ALGORITHMS as readonly string[]).includes(value);
export const isMessageType = (value: unknown): value is MessageType => typeof value === 'string' && (MESSAGE_TYPES as readonly string[]).includes(value);

export function isKeyUsageAllowed(spec: KeySpec, usage: KeyUsage): boolean {
  return KEY_SPEC_INFO[spec].keyUsages.includes(usage);
}

/**
 * The algorithm lists that DescribeKey's KeyMetadata and GetPublicKey return for a key of this spec and
 * usage: each list appears only for the usage it belongs to (an RSA SIGN_VERIFY key has
 * SigningAlgorithms and no EncryptionAlgorithms). Empty object for a usage the spec does not allow.
 */
export function algorithmsForKey(
  spec: KeySpec,
  usage: KeyUsage,
): {
  signingAlgorithms?: readonly SigningAlgorithm[];
  encryptionAlgorithms?: readonly AsymmetricEncryptionAlgorithm[];
  macAlgorithms?: readonly MacAlgorithm[];
  keyAgreementAlgorithms?: readonly KeyAgreementAlgorithm[];
} {
  const info = KEY_SPEC_INFO[spec];
  if (!info.keyUsages.includes(usage)) return {};
  switch (usage) {
    case 'SIGN_VERIFY':
      return { signingAlgorithms: info.signingAlgorithms };
    case 'ENCRYPT_DECRYPT':
      return { encryptionAlgorithms: info.encryptionAlgorithms };
    case 'GENERATE_VERIFY_MAC':
      return { macAlgorithms: info.macAlgorithms };
    case 'KEY_AGREEMENT':
      return { keyAgreementAlgorithms: info.keyAgreementAlgorithms };
  }
}

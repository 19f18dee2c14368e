// The OpenSSL commands of a BYOK ceremony, as the AWS KMS Developer Guide ("Importing key material")
// writes them and as Kura's README says they work unchanged: OAEP with the same digest for MGF1, and for
// the RSA_AES_KEY_WRAP algorithms AES key wrap with padding under a fresh AES key that OAEP wraps.
// File names are the ones the wizard downloads.

export const WRAPPING_ALGORITHMS = ['RSAES_OAEP_SHA_256', 'RSAES_OAEP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1'] as const;
export type WrappingAlgorithm = (typeof WRAPPING_ALGORITHMS)[number];
export const WRAPPING_KEY_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096'] as const;
export type WrappingKeySpec = (typeof WRAPPING_KEY_SPECS)[number];

export const FILES = {
  publicKey: 'WrappingPublicKey.bin',
  publicKeyPem: 'WrappingPublicKey.pem',
  importToken: 'ImportToken.bin',
  material: 'PlaintextKeyMaterial.bin',
  wrapped: 'EncryptedKeyMaterial.bin',
} as const;

export interface OpensslStep {
  title: string;
  command: string;
}

const oaep = (input: string, output: string, md: 'sha1' | 'sha256') =>
  [
    'openssl pkeyutl \\',
    '    -encrypt \\',
    `    -in ${input} \\`,
    `    -out ${output} \\`,
    `    -inkey ${FILES.publicKey} \\`,
    '    -keyform DER \\',
    '    -pubin \\',
    '    -pkeyopt rsa_padding_mode:oaep \\',
    `    -pkeyopt rsa_oaep_md:${md} \\`,
    `    -pkeyopt rsa_mgf1_md:${md}`,
  ].join('\n');

/** The commands to run on the off-line machine, in order. */
export function wrapCommands(algorithm: WrappingAlgorithm): OpensslStep[] {
  const md = algorithm.endsWith('SHA_256') ? 'sha256' : 'sha1';
  const check: OpensslStep = {
    title: 'Check the files you carried: these digests must match the fingerprints read aloud',
    command: `openssl dgst -sha256 ${FILES.publicKey} ${FILES.importToken}`,
  };
  const material: OpensslStep = {
    title: 'Make 256 bits of key material (or use the material you are importing)',
    command: `openssl rand -out ${FILES.material} 32`,
  };
  if (algorithm.startsWith('RSAES_OAEP')) {
    return [check, material, { title: 'Wrap the key material under the wrapping public key (RSAES-OAEP)', command: oaep(FILES.material, FILES.wrapped, md) }];
  }
  return [
    check,
    material,
    { title: 'Make a one-time AES-256 key', command: 'openssl rand -out aes-key.bin 32' },
    {
      title: 'Wrap the key material under it (AES key wrap with padding, RFC 5649)',
      command: `openssl enc -id-aes256-wrap-pad \\\n    -K "$(xxd -p < aes-key.bin | tr -d '\\n')" \\\n    -iv A65959A6 \\\n    -in ${FILES.material} \\\n    -out key-material-wrapped.bin`,
    },
    { title: 'Wrap the AES key under the wrapping public key (RSAES-OAEP)', command: oaep('aes-key.bin', 'aes-key-wrapped.bin', md) },
    { title: 'Put the two together, the wrapped AES key first', command: `cat aes-key-wrapped.bin key-material-wrapped.bin > ${FILES.wrapped}` },
  ];
}

/** How a custodian signs an exported statement off-line (README, "Custodians and quorum approvals"). */
export function signCommands(statementFile: string): OpensslStep[] {
  return [
    { title: 'Ed25519 key', command: `openssl pkeyutl -sign -inkey key.pem -rawin -in ${statementFile} -out ${statementFile}.sig` },
    { title: 'ECDSA P-256 key', command: `openssl dgst -sha256 -sign key.pem -out ${statementFile}.sig ${statementFile}` },
  ];
}

// Signing an approval statement with a custodian's key file, in the page (README, "Custodians and quorum
// approvals"): the file is a PEM private key — PKCS#8 ("PRIVATE KEY", what `openssl genpkey` writes) or
// SEC1 ("EC PRIVATE KEY") — of Ed25519 (RFC 8410) or ECDSA P-256. WebCrypto imports it as a
// non-extractable key and signs the statement's exact bytes: Ed25519 gives 64 bytes; ECDSA P-256 with
// SHA-256 gives r || s (IEEE P1363), which Kura accepts besides DER.
//
// Never log, send or keep the key: the decoded DER is zeroed once imported, the CryptoKey is dropped when
// the call returns, and only the signature leaves this module. An encrypted key file is refused (the
// console takes no key passphrase), as are public keys and keys of other algorithms, each with a
// message that says what to give instead.

/** A key file the console cannot sign with; `code` is shown with the message. */
export class KeyFileError extends Error {
  override readonly name = 'KeyFileError';
  readonly code = 'KeyFile';
}

export type OperatorKeyAlgorithm = 'ed25519' | 'ecdsa-p256';

// DER object identifiers, as their encoded bytes.
const OID_ED25519 = [0x2b, 0x65, 0x70]; // 1.3.101.112
const OID_EC_PUBLIC_KEY = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]; // 1.2.840.10045.2.1
const OID_P256 = [0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]; // 1.2.840.10045.3.1.7

interface Tlv {
  tag: number;
  /** The value's bytes. */
  value: Uint8Array;
  /** Where the element after this one starts. */
  end: number;
}

/** One DER element at `at` (definite lengths only, as DER requires). */
function readTlv(der: Uint8Array, at: number): Tlv {
  const bad = () => new KeyFileError('The key file is not a well-formed DER key.');
  if (at + 2 > der.length) throw bad();
  const tag = der[at]!;
  let len = der[at + 1]!;
  let off = at + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || off + n > der.length) throw bad();
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | der[off + i]!;
    off += n;
  }
  if (off + len > der.length) throw bad();
  return { tag, value: der.subarray(off, off + len), end: off + len };
}

/** The elements of a constructed value, in order. */
function children(value: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let at = 0; at < value.length; ) {
    const t = readTlv(value, at);
    out.push(t);
    at = t.end;
  }
  return out;
}

const sameBytes = (a: Uint8Array, b: number[]) => a.length === b.length && a.every((x, i) => x === b[i]);

function derLength(n: number): number[] {
  if (n < 0x80) return [n];
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return [0x80 | bytes.length, ...bytes];
}
const derElement = (tag: number, content: number[] | Uint8Array): number[] => [tag, ...derLength(content.length), ...content];

/** The algorithm a PKCS#8 PrivateKeyInfo names (RFC 5208 / 5958). */
function pkcs8Algorithm(der: Uint8Array): OperatorKeyAlgorithm {
  const top = readTlv(der, 0);
  if (top.tag !== 0x30) throw new KeyFileError('The key file is not a PKCS#8 private key.');
  const [version, algorithm] = children(top.value);
  if (!version || version.tag !== 0x02 || !algorithm || algorithm.tag !== 0x30) throw new KeyFileError('The key file is not a PKCS#8 private key.');
  const [oid, params] = children(algorithm.value);
  if (!oid || oid.tag !== 0x06) throw new KeyFileError('The key file names no key algorithm.');
  if (sameBytes(oid.value, OID_ED25519)) return 'ed25519';
  if (sameBytes(oid.value, OID_EC_PUBLIC_KEY)) {
    if (params && params.tag === 0x06 && sameBytes(params.value, OID_P256)) return 'ecdsa-p256';
    throw new KeyFileError('This is an EC key on a curve other than P-256: custodians sign with Ed25519 or ECDSA P-256 keys.');
  }
  throw new KeyFileError('This key is neither Ed25519 nor ECDSA P-256 (an RSA key?): custodians sign with Ed25519 or ECDSA P-256 keys.');
}

/** SEC1 ECPrivateKey (`openssl ecparam -genkey`) wrapped as the PKCS#8 WebCrypto imports; P-256 only. */
function sec1ToPkcs8(sec1: Uint8Array): Uint8Array {
  const top = readTlv(sec1, 0);
  const curve = children(top.value).find((c) => c.tag === 0xa0);
  const named = curve ? readTlv(curve.value, 0) : undefined;
  if (!named || named.tag !== 0x06 || !sameBytes(named.value, OID_P256)) {
    throw new KeyFileError('This EC key is not on P-256: custodians sign with Ed25519 or ECDSA P-256 keys.');
  }
  const algorithm = derElement(0x30, [...derElement(0x06, OID_EC_PUBLIC_KEY), ...derElement(0x06, OID_P256)]);
  return new Uint8Array(derElement(0x30, [...derElement(0x02, [0]), ...algorithm, ...derElement(0x04, sec1)]));
}

/** The DER of the PEM's private key block, as PKCS#8. */
export function privateKeyDer(pem: string): Uint8Array {
  const block = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!block) throw new KeyFileError('This is not a PEM key file (it has no -----BEGIN … PRIVATE KEY----- block).');
  const label = block[1]!;
  if (label === 'ENCRYPTED PRIVATE KEY') {
    throw new KeyFileError('This key file is encrypted with a passphrase; the console does not take key passphrases. Sign off-line with openssl and upload the signature instead.');
  }
  if (label === 'PUBLIC KEY') throw new KeyFileError('This is a public key: choose your private key file (the one `openssl genpkey` made).');
  if (label !== 'PRIVATE KEY' && label !== 'EC PRIVATE KEY') {
    throw new KeyFileError(`A ${label} block is not a key Kura's custodians sign with: give an Ed25519 or ECDSA P-256 private key (PEM).`);
  }
  let der: Uint8Array;
  try {
    const text = atob(block[2]!.replace(/\s+/g, ''));
    der = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) der[i] = text.charCodeAt(i);
  } catch {
    throw new KeyFileError('The key file\'s PEM block is not valid base64.');
  }
  if (label === 'EC PRIVATE KEY') {
    const pkcs8 = sec1ToPkcs8(der);
    der.fill(0);
    return pkcs8;
  }
  return der;
}

/**
 * Signs `statement` with the private key in `pem`: the algorithm and the signature (64 bytes either
 * way). The key is imported non-extractable and used for this one signature.
 */
export async function signWithKeyFile(pem: string, statement: Uint8Array): Promise<{ algorithm: OperatorKeyAlgorithm; signature: Uint8Array }> {
  const der = privateKeyDer(pem);
  try {
    const algorithm = pkcs8Algorithm(der);
    const params = algorithm === 'ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', namedCurve: 'P-256' };
    let key;
    try {
      key = await crypto.subtle.importKey('pkcs8', der as Uint8Array<ArrayBuffer>, params, false, ['sign']);
    } catch {
      throw new KeyFileError(
        algorithm === 'ed25519'
          ? 'This browser could not load the Ed25519 key (it needs WebCrypto Ed25519: Chromium 137 or later). Sign off-line with openssl and upload the signature instead.'
          : 'The P-256 key could not be loaded: the file may be damaged.',
      );
    }
    const signParams = algorithm === 'ed25519' ? { name: 'Ed25519' } : { name: 'ECDSA', hash: 'SHA-256' };
    const signature = new Uint8Array(await crypto.subtle.sign(signParams, key, statement as Uint8Array<ArrayBuffer>));
    return { algorithm, signature };
  } finally {
    der.fill(0);
  }
}

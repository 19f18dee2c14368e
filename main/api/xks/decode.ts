// Decoding and validation of XKS request bodies (XKS Proxy API v1.0.3, "API operations"), each
// refusal a ValidationException naming the field, or UnsupportedOperationException for a size beyond
// what Kura supports but above the spec's minimum (its "Error codes" table allows exactly that).
// - requestMetadata is required and must have members on every route, GetHealthStatus included; its
//   members the spec marks REQUIRED for the route must be strings, the optional ones strings if
//   present, and members the spec does not list are accepted (Appendix B: KMS may add more).
// - kmsOperation and kmsRequestId are opaque strings: any value is accepted.
// - A Base64 member that is present must be a string, null included: only leaving it out omits it.
// - Base64 is the standard alphabet with padding, and canonical (re-encoding gives the same text),
//   so that one value has one spelling.
// - Sizes: plaintext and ciphertext up to 65,536 bytes (spec minimum 4,300), AAD up to 65,535 (the
//   2-byte length prefix; spec minimum 8,192), IV 12 or 16 bytes, tag 16, ciphertextMetadata <= 20.
import { MAX_AAD_BYTES, MAX_CIPHERTEXT_METADATA_BYTES } from './aad.js';
import { XksError } from './errors.js';
import type { DecodedDecrypt, DecodedEncrypt, RequestMetadata } from './wire.js';

export const MAX_PLAINTEXT_BYTES = 65_536;
export const MAX_CIPHERTEXT_BYTES = 65_536;

export type XksOperation = 'GetKeyMetadata' | 'Encrypt' | 'Decrypt' | 'GetHealthStatus';

const METADATA_MEMBERS = ['awsPrincipalArn', 'awsSourceVpc', 'awsSourceVpce', 'kmsKeyArn', 'kmsOperation', 'kmsRequestId', 'kmsViaService'] as const;
type MetadataMember = (typeof METADATA_MEMBERS)[number];

/** The requestMetadata members each operation's section marks REQUIRED. */
export const REQUIRED_METADATA: Readonly<Record<XksOperation, readonly MetadataMember[]>> = {
  GetKeyMetadata: ['awsPrincipalArn', 'kmsOperation', 'kmsRequestId'],
  Encrypt: ['awsPrincipalArn', 'kmsKeyArn', 'kmsOperation', 'kmsRequestId'],
  Decrypt: ['awsPrincipalArn', 'kmsKeyArn', 'kmsOperation', 'kmsRequestId'],
  GetHealthStatus: ['kmsOperation', 'kmsRequestId'],
};

const invalid = (message: string) => new XksError('ValidationException', message);

type JsonObject = Record<string, unknown>;

const isObject = (v: unknown): v is JsonObject => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The body as a JSON object, or a ValidationException. */
export function parseBody(body: Buffer): JsonObject {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid('The request body is not valid JSON.');
  }
  if (!isObject(parsed)) throw invalid('The request body must be a JSON object.');
  return parsed;
}

export function decodeRequestMetadata(body: JsonObject, operation: XksOperation): RequestMetadata {
  if (!Object.hasOwn(body, 'requestMetadata')) throw invalid('requestMetadata is required.');
  const raw = body.requestMetadata;
  if (!isObject(raw)) throw invalid('requestMetadata must be a JSON object.');
  if (Object.keys(raw).length === 0) throw invalid('requestMetadata must not be empty.');
  const required = REQUIRED_METADATA[operation];
  const out: Partial<Record<MetadataMember, string>> = {};
  for (const name of METADATA_MEMBERS) {
    const v = Object.hasOwn(raw, name) ? raw[name] : undefined;
    if (v === undefined) {
      if (required.includes(name)) throw invalid(`requestMetadata.${name} is required.`);
      continue;
    }
    if (typeof v !== 'string') throw invalid(`requestMetadata.${name} must be a string.`);
    out[name] = v;
  }
  const { kmsOperation = '', kmsRequestId = '' } = out;
  return { ...out, kmsOperation, kmsRequestId };
}

/** Strict standard Base64 of a field, or undefined when the field is absent and optional. */
function base64Field(body: JsonObject, name: string, required: boolean): Buffer | undefined {
  const v = Object.hasOwn(body, name) ? body[name] : undefined;
  if (v === undefined) {
    if (required) throw invalid(`${name} is required.`);
    return undefined;
  }
  // A member that is present is a Base64 string (the spec: "when present, this field MUST be specified
  // as a Base64 encoded string"): null is not a way of leaving out the AAD or the ciphertextMetadata.
  if (typeof v !== 'string') throw invalid(`${name} must be a Base64 string.`);
  const bytes = Buffer.from(v, 'base64');
  if (bytes.toString('base64') !== v) {
    bytes.fill(0);
    throw invalid(`${name} is not valid standard Base64 (RFC 4648 section 4, with padding).`);
  }
  return bytes;
}

function requiredBase64(body: JsonObject, name: string): Buffer {
  const b = base64Field(body, name, true);
  if (!b) throw invalid(`${name} is required.`);
  return b;
}

/** Refuses a decoded value over `max` bytes, wiping it first: a plaintext refused here reaches no caller that would. */
function maxBytes(b: Buffer | undefined, name: string, max: number): void {
  if (b && b.length > max) {
    const length = b.length;
    b.fill(0);
    throw new XksError('UnsupportedOperationException', `${name} is ${length} bytes; Kura supports up to ${max}.`);
  }
}

function checkAlgorithm(body: JsonObject): void {
  const alg = body.encryptionAlgorithm;
  if (alg === undefined) throw invalid('encryptionAlgorithm is required.');
  if (alg !== 'AES_GCM') throw invalid('encryptionAlgorithm must be AES_GCM.');
}

export function decodeEncrypt(body: JsonObject): DecodedEncrypt {
  const requestMetadata = decodeRequestMetadata(body, 'Encrypt');
  checkAlgorithm(body);
  const cdivAlg = body.ciphertextDataIntegrityValueAlgorithm;
  if (cdivAlg !== undefined && cdivAlg !== 'SHA_256') throw invalid('ciphertextDataIntegrityValueAlgorithm must be SHA_256.');
  const aad = base64Field(body, 'additionalAuthenticatedData', false);
  maxBytes(aad, 'additionalAuthenticatedData', MAX_AAD_BYTES);
  const plaintext = requiredBase64(body, 'plaintext');
  maxBytes(plaintext, 'plaintext', MAX_PLAINTEXT_BYTES);
  return { requestMetadata, plaintext, aad, wantsCdiv: cdivAlg === 'SHA_256' };
}

export function decodeDecrypt(body: JsonObject): DecodedDecrypt {
  const requestMetadata = decodeRequestMetadata(body, 'Decrypt');
  checkAlgorithm(body);
  const ciphertext = requiredBase64(body, 'ciphertext');
  maxBytes(ciphertext, 'ciphertext', MAX_CIPHERTEXT_BYTES);
  const aad = base64Field(body, 'additionalAuthenticatedData', false);
  maxBytes(aad, 'additionalAuthenticatedData', MAX_AAD_BYTES);
  const ciphertextMetadata = base64Field(body, 'ciphertextMetadata', false);
  if (ciphertextMetadata && ciphertextMetadata.length > MAX_CIPHERTEXT_METADATA_BYTES) {
    throw invalid(`ciphertextMetadata is ${ciphertextMetadata.length} bytes; at most ${MAX_CIPHERTEXT_METADATA_BYTES} are allowed.`);
  }
  const iv = requiredBase64(body, 'initializationVector');
  if (iv.length !== 12 && iv.length !== 16) throw invalid(`initializationVector must be 12 or 16 bytes, not ${iv.length}.`);
  const tag = requiredBase64(body, 'authenticationTag');
  if (tag.length !== 16) throw invalid(`authenticationTag must be 16 bytes, not ${tag.length}.`);
  return { requestMetadata, ciphertext, ciphertextMetadata, aad, iv, tag };
}

// Bytes ↔ base64 and text, for statements, signatures, import tokens and wrapped material (the contract
// carries binary values as standard base64 with padding). No DOM types: the tests run this in Node.

export function toBase64(bytes: Uint8Array): string {
  let s = '';
  // In slices, so a large file does not overflow the argument list of fromCharCode.
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export function fromBase64(text: string): Uint8Array {
  const s = atob(text);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
export const fromUtf8 = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);

export const hex = (bytes: Uint8Array): string => Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');

/** Hex in groups of four, as Kura prints fingerprints for reading aloud. */
export const grouped = (hexText: string): string => hexText.match(/.{1,4}/g)?.join(' ') ?? '';

/** SHA-256 of bytes, hex in groups of four (WebCrypto). */
export async function sha256Fingerprint(bytes: Uint8Array): Promise<string> {
  return grouped(hex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))));
}

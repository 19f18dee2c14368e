import { describe, expect, it } from 'vitest';
import {
  DerError,
  decodeOid,
  encodeOid,
  encodeSignatureRS,
  encodeUnsignedInteger,
  parseSignatureRS,
  parsePkcs8,
  readTlv,
  readWhole,
} from '../../../main/crypto/asymmetric/der.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('strict DER', () => {
  it('round-trips OIDs, including the ML-DSA and SM2 arcs', () => {
    for (const oid of ['1.2.840.10045.2.1', '1.2.156.10197.1.301', '2.16.840.1.101.3.4.3.17', '1.3.101.112', '2.999.1']) {
      expect(decodeOid(readWhole(encodeOid(oid), 0x06))).toBe(oid);
    }
    expect(encodeOid('1.2.840.10045.3.1.7').toString('hex')).toBe('06082a8648ce3d030107');
  });

  it('encodes INTEGERs minimally', () => {
    expect(encodeUnsignedInteger(0n).toString('hex')).toBe('020100');
    expect(encodeUnsignedInteger(0x7fn).toString('hex')).toBe('02017f');
    expect(encodeUnsignedInteger(0x80n).toString('hex')).toBe('02020080');
    expect(parseSignatureRS(encodeSignatureRS(1n, 2n ** 255n))).toEqual({ r: 1n, s: 2n ** 255n });
  });

  it('refuses BER that is not DER', () => {
    const cases = {
      'indefinite length': '3080020101020101 0000',
      'long form for a short length': '3081 06 020101020101',
      'leading zero length byte': '308200 06 020101020101',
      'INTEGER with a superfluous 00': '3007 02020001 020101',
      'negative INTEGER': '3006 0201ff 020101',
      'empty INTEGER': '3005 0200 020101',
      'trailing bytes': '3006020101020101 00',
      'extra element': '3009020101020101020101',
      'truncated': '3006020101020101'.slice(0, -2),
    };
    for (const [name, der] of Object.entries(cases)) {
      expect(() => parseSignatureRS(hex(der)), name).toThrow(DerError);
    }
  });

  it('refuses lengths that run past the input', () => {
    expect(() => readTlv(hex('3005 0201'), 0)).toThrow(DerError);
    expect(() => readTlv(hex('3084ffffffff'), 0)).toThrow(DerError);
  });

  it('reads PKCS#8 with optional attributes and public key, and nothing else after them', () => {
    const body = '020100 300706052b81040022 0403 040100';
    expect(parsePkcs8(hex(`3011 ${body}`)).algorithm.oid).toBe('1.3.132.0.34');
    expect(parsePkcs8(hex(`3017 ${body} a000 81020000`)).privateKey).toEqual(hex('040100'));
    expect(() => parsePkcs8(hex(`3013 ${body} 0500`))).toThrow(DerError);
    expect(() => parsePkcs8(hex(`3017 ${body} 81020000 a000`))).toThrow(DerError);
    expect(() => parsePkcs8(hex(`3011 020102 300706052b81040022 0403 040100`))).toThrow(DerError);
  });
});

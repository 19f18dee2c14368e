// The list markers of main/kms/operations/common.ts: what encodeMarker writes always fits MarkerType
// (the API model: at most 1024 characters of U+0020–U+00FF), up to the encoder's bound and for the
// longest position any list has (a tag key of 128 code points); decodeMarker gives back exactly what was
// encoded, and refuses with InvalidMarker a marker of another kind (another operation's), one of the
// earlier JSON form, and any text encodeMarker cannot have written.
import { describe, expect, it } from 'vitest';
import { decodeRequest } from '../../../main/api/kms/model/validate.js';
import { decodeMarker, encodeMarker, MAX_MARKER_LENGTH } from '../../../main/kms/operations/common.js';
import { kmsCode } from '../../support/domain.js';

const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';

/** Whether the wire takes the marker back: ListResourceTags validated against the API model. */
const acceptedOnTheWire = (marker: string) => decodeRequest('ListResourceTags', { KeyId: KEY_ID, Marker: marker }).Marker === marker;

const decodeCode = (kind: string, marker: string) => kmsCode(Promise.resolve().then(() => decodeMarker(kind, marker)));

describe('list markers', () => {
  it('fit MarkerType for the longest tag key, whatever its characters, and give it back', () => {
    // U+0001 is what JSON escaped in six characters; U+10FFFF takes UTF-8's four bytes.
    for (const tagKey of ['\u0001'.repeat(128), '\u{10FFFF}'.repeat(128), '"\\'.repeat(64), '\u00FF'.repeat(128)]) {
      const marker = encodeMarker('tags', tagKey);
      expect(acceptedOnTheWire(marker)).toBe(true);
      expect(marker.length).toBeLessThanOrEqual(MAX_MARKER_LENGTH);
      expect(decodeMarker('tags', marker)).toBe(tagKey);
    }
  });

  it('encode up to MarkerType\'s 1024 characters and refuse a position one byte longer', () => {
    // 'tags', NUL and 763 bytes: 768 bytes, 1024 base64url characters.
    const longest = 'x'.repeat(768 - 'tags'.length - 1);
    const marker = encodeMarker('tags', longest);
    expect(acceptedOnTheWire(marker)).toBe(true);
    expect(marker).toHaveLength(MAX_MARKER_LENGTH);
    expect(decodeMarker('tags', marker)).toBe(longest);
    expect(() => encodeMarker('tags', `${longest}x`)).toThrow(/over MarkerType's 1024/);
  });

  it('keep an empty position, and NUL inside one', () => {
    expect(decodeMarker('keys', encodeMarker('keys', ''))).toBe('');
    expect(decodeMarker('tags', encodeMarker('tags', 'a\u0000b'))).toBe('a\u0000b');
    expect(decodeMarker('tags', undefined)).toBeUndefined();
  });

  it('refuse another operation\'s marker, the earlier JSON form, and text encodeMarker cannot have written (InvalidMarker)', async () => {
    const aliases = encodeMarker('aliases', 'alias/x');
    const json = (kind: string, value: string) => Buffer.from(JSON.stringify([kind, value])).toString('base64url');
    const raw = (bytes: Buffer) => bytes.toString('base64url');
    const refused = [
      ['keys', aliases],
      ['alias', aliases],
      ['aliasesx', encodeMarker('aliases', 'x')],
      ['tags', json('tags', 't')],
      ['tags', `${encodeMarker('tags', 't')}=`],
      ['tags', `${encodeMarker('tags', 't')}!`],
      ['tags', ` ${encodeMarker('tags', 't')}`],
      ['tags', raw(Buffer.from('tags'))],
      ['tags', raw(Buffer.concat([Buffer.from('tags\u0000'), Buffer.of(0xc3)]))],
      ['tags', raw(Buffer.concat([Buffer.from('tags\u0000'), Buffer.of(0xed, 0xa0, 0x80)]))],
      // 'tags', NUL, 'tt' is 7 bytes: the last of its 10 characters carries 4 bits that must be zero.
      ['tags', encodeMarker('tags', 'tt').replace(/.$/, (c) => String.fromCharCode(c.charCodeAt(0) + 1))],
    ] as const;
    for (const [kind, marker] of refused) expect(await decodeCode(kind, marker), `${kind} ${marker}`).toBe('InvalidMarker');
  });
});

// A cheap pass over a request body before JSON.parse: a crafted 1 MiB body of 60,000 pairs or
// 100,000 nested arrays costs JSON.parse tens of milliseconds (a million open brackets, 130 ms) and
// builds objects that validation then has to enumerate, while every other client waits. No KMS or
// admin request needs more than a few thousand JSON values or more than a handful of nesting levels
// (the KMS model's deepest input is 4 levels), so a body past these bounds is refused as a
// SerializationException without being parsed. The KMS API and the admin API (whose sign-in and
// unseal routes take bodies from anyone) both run it. The scan reads
// bytes once (about 1 ms per MiB) and understands only strings and escapes; JSON.parse still decides
// whether the body is JSON.
import { KmsError } from '../common/errors.js';

/** Values (counted by the separators and openers that introduce them) a request body may hold. */
export const MAX_JSON_VALUES = 16_384;
/** Nesting depth of arrays and objects a request body may reach. */
export const MAX_JSON_DEPTH = 64;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

export function checkJsonBounds(body: Uint8Array): void {
  let values = 0;
  let depth = 0;
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c === QUOTE) {
      // Jump over the string with a native search for its closing quote (most of a body's bytes are
      // base64 inside strings); a quote preceded by an odd run of backslashes is escaped.
      let end = buf.indexOf(QUOTE, i + 1);
      while (end > 0) {
        let slashes = 0;
        while (buf[end - 1 - slashes] === BACKSLASH) slashes++;
        if (slashes % 2 === 0) break;
        end = buf.indexOf(QUOTE, end + 1);
      }
      if (end < 0) return; // an unterminated string: JSON.parse will refuse it
      i = end;
      continue;
    }
    else if (c === COMMA) values++;
    else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      values++;
      if (++depth > MAX_JSON_DEPTH) throw new KmsError('Serialization', `The request body nests JSON deeper than ${MAX_JSON_DEPTH} levels.`);
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth--;
    if (values > MAX_JSON_VALUES) throw new KmsError('Serialization', `The request body holds more than ${MAX_JSON_VALUES} JSON values.`);
  }
}

// The rule for which serial numbers identify a token (../../devices/pkcs11/token-serial.ts), for the KMS
// domain, which compares registrations (one store per token; a store moves only to the same token) and
// never loads a PKCS#11 module: this file imports none.
export { serialIdentifies } from '../../devices/pkcs11/token-serial.js';

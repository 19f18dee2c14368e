// The ceilings for bench/xks.mjs: the least an XKS proxy on node:http must do per Encrypt (XKS Proxy API
// v1.0.3, "Encrypt" and Appendix C) — read the body, verify SigV4 (service kms-xks-proxy) with Kura's own
// verifier, parse the JSON, Base64-decode plaintext and AAD, one AES-256-GCM encryption under the cipher
// AAD u16be(len AAD) || AAD || u8(0), the SHA_256 ciphertextDataIntegrityValue, the verifying decryption
// that the spec's order asks for when a CDIV is requested, and the JSON answer.
// No store, no credential table, no key lookup or status check, no throttle, no validation of sizes and
// names: whatever Kura spends beyond this is the price of being a key store rather than a toy.
//
// Two of them, by environment:
//   ceiling      — the AES-GCM with node:crypto, nothing written anywhere;
//   ceiling-hsm  — with CEILING_HSM and CEILING_DB (./ceiling-parts.mjs): the encryption and its verifying
//                  decryption on a PKCS#11 token, and before each answer one durable row for the call in
//                  SQLite — what any proxy that keeps its keys on the token and answers a call only once its
//                  audit entry is on the disk must do, and nothing more.
//
// Run by bench/xks.mjs as a child process: `node bench/xks-ceiling-server.mjs` with
// CEILING_ACCESS_KEY_ID and CEILING_SECRET_ACCESS_KEY in the environment; prints
// `xks ceiling listening on http://127.0.0.1:PORT`. Any path ending in /encrypt is an Encrypt.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { verifySigV4 } from '../dist/sigv4/verify.js';
import { ceilingDuties } from './ceiling-parts.mjs';
import { printHelpAndExit } from './lib.mjs';

if (process.argv.includes('--help')) printHelpAndExit(import.meta.url);

const ACCESS_KEY_ID = process.env.CEILING_ACCESS_KEY_ID ?? '';
const SECRET = process.env.CEILING_SECRET_ACCESS_KEY ?? '';

const lookupSecret = (id) => (id === ACCESS_KEY_ID ? SECRET : undefined);

function cipherAad(aad) {
  const out = Buffer.alloc(2 + aad.length + 1);
  out.writeUInt16BE(aad.length, 0);
  aad.copy(out, 2);
  return out;
}

const { gcm, rows } = await ceilingDuties();

function encrypt(input) {
  const plaintext = Buffer.from(String(input.plaintext ?? ''), 'base64');
  const aad = Buffer.from(String(input.additionalAuthenticatedData ?? ''), 'base64');
  const boundAad = cipherAad(aad);
  const iv = randomBytes(12);
  const { ciphertext, tag } = gcm.seal(iv, boundAad, plaintext);
  const out = { ciphertext: ciphertext.toString('base64'), initializationVector: iv.toString('base64'), authenticationTag: tag.toString('base64') };
  if (input.ciphertextDataIntegrityValueAlgorithm === 'SHA_256') {
    out.ciphertextDataIntegrityValue = createHash('sha256').update(aad).update(iv).update(ciphertext).update(tag).digest('base64');
    // Appendix C: the value first, then decrypt what is returned and compare, as Kura does.
    const back = gcm.open(iv, boundAad, ciphertext, tag);
    if (back.length !== plaintext.length || !timingSafeEqual(back, plaintext)) throw new Error('decrypt-back mismatch');
  }
  return out;
}

const server = http.createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const send = (status, body) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    };
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://localhost');
    verifySigV4(
      { method: req.method ?? 'GET', path: url.pathname, query: url.search.replace(/^\?/, ''), headers: req.headers, body },
      { service: 'kms-xks-proxy', nowMs: Date.now(), lookupSecret },
    ).then(
      () => {
        if (req.method !== 'POST' || !url.pathname.endsWith('/encrypt')) return send(404, { errorName: 'InvalidUriPathException' });
        let input;
        let answer;
        try {
          input = JSON.parse(body.toString('utf8'));
          answer = encrypt(input);
        } catch {
          return send(400, { errorName: 'ValidationException' });
        }
        if (!rows) return send(200, answer);
        rows.append(JSON.stringify({ operation: 'Encrypt', path: url.pathname, requestMetadata: input.requestMetadata })).then(
          () => send(200, answer),
          () => send(500, { errorName: 'InternalException' }),
        );
      },
      (e) => send(401, { errorName: 'AuthenticationFailedException', errorMessage: e.message }),
    );
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`xks ceiling listening on http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));

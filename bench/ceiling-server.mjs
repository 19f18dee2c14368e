// The ceiling for bench/kms.mjs: the least a KMS-shaped server on node:http must do per call — read
// the body, verify SigV4 with Kura's own verifier, parse the JSON, one AES-256-GCM encryption with
// node:crypto, and a small AWS JSON 1.1 answer. No store, no audit, no key lookup, no model validation:
// whatever Kura spends beyond this is the price of being a key store rather than a toy.
// With CEILING_HSM and CEILING_DB (./ceiling-parts.mjs; bench/hsm.mjs's ceiling-http-hsm) the encryption
// runs on a PKCS#11 token and each call is answered once a row for it is durable in SQLite: the least a
// KMS with keys on a token and an audit entry on the disk before every answer must do.
//
// Run by bench/kms.mjs and bench/hsm.mjs as a child process: `node bench/ceiling-server.mjs` with CEILING_ACCESS_KEY_ID
// and CEILING_SECRET_ACCESS_KEY in the environment; prints `ceiling listening on http://127.0.0.1:PORT`.
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { verifySigV4 } from '../dist/sigv4/verify.js';
import { ceilingDuties } from './ceiling-parts.mjs';
import { printHelpAndExit } from './lib.mjs';

if (process.argv.includes('--help')) printHelpAndExit(import.meta.url);

const ACCESS_KEY_ID = process.env.CEILING_ACCESS_KEY_ID ?? '';
const SECRET = process.env.CEILING_SECRET_ACCESS_KEY ?? '';
const KEY_ARN = 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000';
const CONTENT_TYPE = 'application/x-amz-json-1.1';

const lookupSecret = (id) => (id === ACCESS_KEY_ID ? SECRET : undefined);

const { gcm, rows } = await ceilingDuties();
/** Bound as AAD, about the size of the header Kura binds into its blobs. */
const BLOB_AAD = randomBytes(64);

/** iv ‖ ciphertext ‖ tag, like any self-contained AES-GCM blob. */
function seal(plaintext) {
  const iv = randomBytes(12);
  const { ciphertext, tag } = gcm.seal(iv, BLOB_AAD, plaintext);
  return Buffer.concat([iv, ciphertext, tag]);
}

function operate(target, input) {
  switch (target) {
    case 'TrentService.Encrypt': {
      const blob = seal(Buffer.from(String(input.Plaintext ?? ''), 'base64'));
      return { CiphertextBlob: blob.toString('base64'), KeyId: KEY_ARN, EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
    }
    case 'TrentService.GenerateDataKey': {
      const dataKey = randomBytes(32);
      const blob = seal(dataKey);
      return { CiphertextBlob: blob.toString('base64'), Plaintext: dataKey.toString('base64'), KeyId: KEY_ARN };
    }
    case 'TrentService.CreateKey':
      return { KeyMetadata: { KeyId: KEY_ARN.split('/')[1], Arn: KEY_ARN, KeyState: 'Enabled', KeySpec: 'SYMMETRIC_DEFAULT' } };
    default:
      return undefined;
  }
}

const server = http.createServer({ keepAliveTimeout: 5_000 }, (req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const requestId = randomUUID();
    const send = (status, body, extra = {}) => {
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': CONTENT_TYPE, 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(text), ...extra });
      res.end(text);
    };
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', 'http://localhost');
    verifySigV4(
      { method: req.method ?? 'GET', path: url.pathname, query: url.search.replace(/^\?/, ''), headers: req.headers, body },
      { service: 'kms', nowMs: Date.now(), lookupSecret },
    ).then(
      () => {
        const target = req.headers['x-amz-target'];
        let output;
        try {
          output = operate(target, JSON.parse(body.toString('utf8')));
        } catch {
          return send(400, { __type: 'SerializationException', message: 'bad JSON' }, { 'x-amzn-errortype': 'SerializationException' });
        }
        if (!output) return send(400, { __type: 'UnknownOperationException' }, { 'x-amzn-errortype': 'UnknownOperationException' });
        if (!rows) return send(200, output);
        rows.append(JSON.stringify({ requestId, operation: target, keyId: output.KeyId })).then(
          () => send(200, output),
          () => send(500, { __type: 'KMSInternalException' }, { 'x-amzn-errortype': 'KMSInternalException' }),
        );
      },
      (e) => send(400, { __type: e.code ?? 'InvalidSignatureException', message: e.message }, { 'x-amzn-errortype': 'InvalidSignatureException' }),
    );
  });
});

server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`ceiling listening on http://127.0.0.1:${server.address().port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
process.on('SIGINT', () => server.close(() => process.exit(0)));

// The XKS client settings of the tests that run a proxy of their own on a loopback port
// (test/keystores/external*.test.ts): the endpoint in AWS's shape, https://xks.kura.test, reached at
// 127.0.0.1 and the proxy's port (connectTo), the test's CA trusted, a credential made up for the test.
import fs from 'node:fs';
import path from 'node:path';
import type { XksClientConfig } from '../../main/keystores/external/index.js';
import { XKS_PEER_HOST } from './xks-peer.js';

export function loopbackClientConfig(port: number, ca: string, secretAccessKey: string): XksClientConfig {
  return {
    uriEndpoint: `https://${XKS_PEER_HOST}`,
    uriPath: '/kms/xks/v1',
    accessKeyId: 'XKSAAAAAAAAAAAAAAAAAAAAA',
    secretAccessKey,
    region: 'us-east-1',
    connectTo: { host: '127.0.0.1', port },
    ca: [ca],
  };
}

/** What makePki wrote in `dir`: the CA (PEM text) and the server's certificate and key, for a TLS listener. */
export function readPki(dir: string): { ca: string; server: { cert: Buffer; key: Buffer } } {
  return {
    ca: fs.readFileSync(path.join(dir, 'ca.pem'), 'utf8'),
    server: { cert: fs.readFileSync(path.join(dir, 'server.pem')), key: fs.readFileSync(path.join(dir, 'server.key')) },
  };
}

// An EXTERNAL_KEY_STORE record as the store keeps it, for tests that connect one through XksConnections
// without the KMS domain: DISCONNECTED, its proxy at https://xks.kura.test, its secret sealed by `conns`.
import type { XksConnections } from '../../main/kms/external-key-stores.js';
import type { CustomKeyStoreRecord } from '../../main/store/index.js';
import { XKS_PEER_HOST } from './xks-peer.js';

export function xksStoreRecord(conns: XksConnections, id: string, opts: { name: string; uriPath: string; secretAccessKey: string }): CustomKeyStoreRecord {
  return {
    id,
    accountId: '111122223333',
    region: 'us-east-1',
    name: opts.name,
    type: 'EXTERNAL_KEY_STORE',
    connectionState: 'DISCONNECTED',
    createdAt: 0,
    hsmId: null,
    config: { uriEndpoint: `https://${XKS_PEER_HOST}`, uriPath: opts.uriPath, connectivity: 'PUBLIC_ENDPOINT', accessKeyId: 'XKSAAAAAAAAAAAAAAAAAAAAA', secretSealed: conns.sealSecret(id, opts.secretAccessKey), region: 'us-east-1' },
  };
}

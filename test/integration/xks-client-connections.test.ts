// The connections a Kura holding an external key store keeps to its XKS proxy, end to end: a Kura
// (test/support/kura-process.ts) whose --xks-connect-to points at a TCP relay written here, which
// forwards to another Kura serving the XKS proxy API (test/support/xks-peer.ts) and counts the
// connections passing through it. Whatever ends a store's use of its proxy settings —
// DisconnectCustomKeyStore, an UpdateCustomKeyStore of the credential while connected (AWS: the store
// goes on with the new one at once), stopping Kura — must close the connections opened with the old
// settings, not leave them to an idle bound or to the proxy; a health check of settings being
// changed keeps none. (DeleteCustomKeyStore takes a DISCONNECTED store only: it has none left.)
import { ConnectCustomKeyStoreCommand, CreateCustomKeyStoreCommand, CreateKeyCommand, DisconnectCustomKeyStoreCommand, EncryptCommand, UpdateCustomKeyStoreCommand, type KMSClient } from '@aws-sdk/client-kms';
import { once } from 'node:events';
import net, { type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { kmsClient } from '../support/kms-client.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';
import { startXksPeer, XKS_PEER_HOST, type XksPeer } from '../support/xks-peer.js';

/** Long enough for a loaded machine; AWS's 250 ms is tested on the client itself (test/keystores/external-lifecycle.test.ts). */
const CLIENT_TIMEOUT_MS = '3000';
/**
 * Below every idle bound: the client's 30 s, and the 4 s it takes from the peer's announced 5 s
 * keep-alive (Node's server closes idle connections after 5 s): a connection closed within it was
 * closed on purpose.
 */
const PROMPTLY_MS = 2_000;

interface Relay {
  port: number;
  /** The client-side sockets open now. */
  open: Set<net.Socket>;
  /** Connections accepted, ever. */
  accepted: number;
  close(): Promise<void>;
}

/** A TCP relay on 127.0.0.1 to `port`: each connection in is piped to one out, and closes with it. */
async function relayTo(port: number): Promise<Relay> {
  const open = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((inbound) => {
    accepted++;
    open.add(inbound);
    const outbound = net.connect(port, '127.0.0.1');
    inbound.pipe(outbound).pipe(inbound);
    const end = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.on('close', () => {
      open.delete(inbound);
      end();
    });
    outbound.on('close', end);
    inbound.on('error', end);
    outbound.on('error', end);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    open,
    get accepted() {
      return accepted;
    },
    close: () => {
      for (const s of open) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe("an external key store's connections to its proxy, between two Kura processes", () => {
  let peer: XksPeer;
  let relay: Relay;
  let kura: KuraProcess | undefined;
  let kms: KMSClient;
  let storeId: string;
  let keyId: string;
  /** The proxy credential the store uses now. */
  let credential: { AccessKeyId: string; RawSecretAccessKey: string };

  const encrypt = () => kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('kept alive') }));
  /** Waits until none of `sockets` is open any more. */
  const closed = (sockets: readonly net.Socket[]) => vi.waitFor(() => expect(sockets.filter((s) => relay.open.has(s))).toEqual([]), { timeout: PROMPTLY_MS, interval: 50 });

  beforeAll(async () => {
    peer = await startXksPeer();
    relay = await relayTo(peer.port);
    kura = await startKura({ args: ['--xks-client-ca', peer.caFile, '--xks-connect-to', `${XKS_PEER_HOST}=127.0.0.1:${relay.port}`, '--xks-client-timeout', CLIENT_TIMEOUT_MS] });
    kms = kmsClient(kura);
    const externalKeyId = await peer.createKey();
    credential = { AccessKeyId: peer.store.accessKeyId, RawSecretAccessKey: peer.store.secretAccessKey };
    storeId = (await kms.send(new CreateCustomKeyStoreCommand({
      CustomKeyStoreName: 'relayed',
      CustomKeyStoreType: 'EXTERNAL_KEY_STORE',
      XksProxyUriEndpoint: peer.uriEndpoint,
      XksProxyUriPath: peer.store.uriPath,
      XksProxyConnectivity: 'PUBLIC_ENDPOINT',
      XksProxyAuthenticationCredential: credential,
    }))).CustomKeyStoreId!;
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    keyId = (await kms.send(new CreateKeyCommand({ CustomKeyStoreId: storeId, Origin: 'EXTERNAL_KEY_STORE', XksKeyId: externalKeyId }))).KeyMetadata!.KeyId!;
  }, 90_000);

  afterAll(async () => {
    await kura?.stop();
    await relay?.close();
    await peer?.close();
  });

  it('closes them on DisconnectCustomKeyStore', async () => {
    await encrypt();
    const used = [...relay.open];
    expect(used.length).toBeGreaterThan(0);
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    await closed(used);
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
  });

  it('closes those of the old credential when UpdateCustomKeyStore rotates it on a connected store, which goes on with the new one', async () => {
    await encrypt();
    const used = [...relay.open];
    expect(used.length).toBeGreaterThan(0);
    const made = await peer.admin('POST', `/xks/stores/${peer.store.storeId}/credentials`);
    const rotated = made.body as { accessKeyId: string; secretAccessKey: string };
    credential = { AccessKeyId: rotated.accessKeyId, RawSecretAccessKey: rotated.secretAccessKey };
    await kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, XksProxyAuthenticationCredential: credential }));
    await closed(used);
    // The old credential is gone at the proxy: a connection of the old store would be refused.
    expect((await peer.admin('DELETE', `/xks/stores/${peer.store.storeId}/credentials/${peer.store.accessKeyId}`)).status).toBe(200);
    await encrypt();
  });

  it('keeps no connection a health check of new settings opened (UpdateCustomKeyStore of a disconnected store)', async () => {
    await kms.send(new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
    await closed([...relay.open]);
    const accepted = relay.accepted;
    await kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: storeId, XksProxyUriPath: peer.store.uriPath, XksProxyAuthenticationCredential: credential }));
    expect(relay.accepted).toBeGreaterThan(accepted);
    await closed([...relay.open]);
    await kms.send(new ConnectCustomKeyStoreCommand({ CustomKeyStoreId: storeId }));
  });

  it('closes them when Kura stops', async () => {
    await encrypt();
    const used = [...relay.open];
    expect(used.length).toBeGreaterThan(0);
    await kura!.stop();
    kura = undefined;
    await closed(used);
  });
});

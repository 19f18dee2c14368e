// Custom key stores of type AWS_CLOUDHSM and EXTERNAL_KEY_STORE (API reference: CreateCustomKeyStore, DescribeCustomKeyStores,
// UpdateCustomKeyStore, ConnectCustomKeyStore, DisconnectCustomKeyStore, DeleteCustomKeyStore) on the
// HSMs of ./hsm-registry.ts. Where AWS names a CloudHSM cluster, Kura names an HSM that an operator registered
// (`kura hsm add`: a PKCS#11 module and a token label; its ID has a cluster ID's shape); where AWS logs in
// as the kmsuser crypto user with KeyStorePassword, Kura logs in to the token with its user PIN.
//
// AWS's rules, kept: a new store is DISCONNECTED; Connect is refused while DISCONNECTING or FAILED
// (disconnect a FAILED store first), and its outcome — CONNECTED, or FAILED with a ConnectionErrorCode —
// shows in DescribeCustomKeyStores rather than in its answer; Disconnect is refused when already
// DISCONNECTED; Update and Delete need a DISCONNECTED store; Delete is refused while keys live in it; one
// store per HSM; an Update may move a store only to a "related" HSM (the same token, by serial number, or
// by label and library parameters where the serial names no token).
// Every call runs through the unit of work (../key-directory.ts) and is audited; the PIN is sealed under
// the root key before it is stored and never logged or audited.
//
// A store belongs to the account and Region of the caller that created it, as in AWS: a caller finds,
// lists, uses and changes only its own account's and Region's stores (another's is
// CustomKeyStoreNotFound, as if it did not exist), and names and proxy URIs are unique per account and
// Region. HSM registrations stay the appliance's: one store per HSM, whichever account made it.
//
// External key stores (EXTERNAL_KEY_STORE) name an XKS proxy — XksProxyUriEndpoint (https://host),
// XksProxyUriPath and a SigV4 credential (its secret sealed like a PIN) — reached over a public endpoint
// (Kura has no Amazon VPC). As AWS: creating one, or changing its proxy settings, needs the proxy to
// pass a health check (else XksProxyUriUnreachable, XksProxyIncorrectAuthenticationCredential,
// XksProxyInvalidResponse or XksProxyInvalidConfiguration); each store has its own proxy URI; connecting
// runs a health check and ends CONNECTED or FAILED with an XKS_PROXY_* code (../external-key-stores.ts).
//
// Why one file of this length: it is AWS's six custom key store operations for both store types, whose
// state rules are shared; what is each type's own lives beside it (../custom-key-stores.ts: HSM
// connections; ../external-key-stores.ts: XKS connections and settings; ./hsm-registry.ts: the HSMs).
import { X509Certificate, randomBytes, randomUUID } from 'node:crypto';
import { isKmsError, KmsError, kmsErrors } from '../../common/errors.js';
import { SerialByKey } from '../../common/serial.js';
import { serialIdentifies } from '../../keystores/hsm/token-serial.js';
import type { CustomKeyStoreRecord, CustomKeyStoreRepository, HsmRecord, HsmRepository, Tx } from '../../store/index.js';
import { hsmStoreConfig, type HsmConnectionErrorCode, type HsmConnections } from '../custom-key-stores.js';
import { checkXksSettings, namesXks, settingsRefused, xksStoreConfig, xksUriOf, type XksConnections, type XksConnectionErrorCode, type XksProxySettingsInput, type XksStoreConfig } from '../external-key-stores.js';

export type { XksProxySettingsInput };
import type { CallContext } from '../key-directory.js';
import { decodeMarker, encodeMarker, invalidMarker, paginate, type OperationDeps, type Page } from './common.js';


export interface CreateCustomKeyStoreInput extends XksProxySettingsInput {
  customKeyStoreName: string;
  customKeyStoreType?: string;
  cloudHsmClusterId?: string;
  trustAnchorCertificate?: string;
  keyStorePassword?: string;
}

export interface UpdateCustomKeyStoreInput extends XksProxySettingsInput {
  customKeyStoreId: string;
  newCustomKeyStoreName?: string;
  keyStorePassword?: string;
  cloudHsmClusterId?: string;
}

/** A custom key store as DescribeCustomKeyStores shows it. */
export interface CustomKeyStoreView {
  id: string;
  name: string;
  type: CustomKeyStoreRecord['type'];
  cloudHsmClusterId?: string;
  trustAnchorCertificate?: string;
  xksProxyConfiguration?: { connectivity: string; accessKeyId: string; uriEndpoint: string; uriPath: string };
  connectionState: CustomKeyStoreRecord['connectionState'];
  connectionErrorCode?: HsmConnectionErrorCode | XksConnectionErrorCode;
  createdAt: number;
}

export interface CustomKeyStoreDeps extends OperationDeps {
  customKeyStores: CustomKeyStoreRepository;
  hsms: HsmRepository;
  connections: HsmConnections;
  xksConnections: XksConnections;
}

/** AWS's shape: cks- and 17 hex digits. */
const newStoreId = () => `cks-${randomBytes(9).toString('hex').slice(0, 17)}`;

/**
 * Where the page after a DescribeCustomKeyStores marker starts in `all` (the repository's order: creation
 * time, then ID). The marker holds the last store's creation time and ID, a position in that order
 * rather than a store to find, so a page after a store deleted meanwhile goes on after where it was.
 * IDs are ASCII (newStoreId), where JavaScript's order is SQLite's.
 */
function storesAfter(all: CustomKeyStoreRecord[], marker: string | undefined): number {
  const after = decodeMarker('cks', marker);
  if (after === undefined) return 0;
  const m = /^(0|[1-9][0-9]{0,14}) ([\x21-\x7e]{1,64})$/.exec(after);
  if (!m) throw invalidMarker();
  const [createdAt, id] = [Number(m[1]), m[2]!];
  const from = all.findIndex((c) => c.createdAt > createdAt || (c.createdAt === createdAt && c.id > id));
  return from < 0 ? all.length : from;
}

/** Whether a store is of the caller's account and Region (AWS: a custom key store is a resource of both). */
export const ownedBy = (c: CustomKeyStoreRecord, ctx: Pick<CallContext, 'accountId' | 'region'>): boolean => c.accountId === ctx.accountId && c.region === ctx.region;

const notFound = (id: string) => new KmsError('CustomKeyStoreNotFound', `Custom key store ${id} does not exist.`);
const invalidState = (c: CustomKeyStoreRecord, why: string) =>
  new KmsError('CustomKeyStoreInvalidState', `Custom key store ${c.id} is ${c.connectionState}: ${why}`);

/**
 * Whether two HSM registrations name one token (AWS: "related" clusters): the same serial number; or,
 * where neither serial names a token (blank or zeros: NSS softokn, the same for every database), the
 * same label and library parameters (for NSS, the database directory), through any module path.
 */
function sameToken(a: HsmRecord, b: HsmRecord): boolean {
  if (a.id === b.id) return true;
  const [aNamed, bNamed] = [serialIdentifies(a.serialNumber), serialIdentifies(b.serialNumber)];
  if (aNamed || bNamed) return aNamed && bNamed && a.serialNumber === b.serialNumber;
  return a.tokenLabel.trim() === b.tokenLabel.trim() && a.libraryParameters === b.libraryParameters;
}

/** AWS checks the trust anchor against the cluster's; Kura keeps it, and requires it to be an X.509 certificate in PEM. */
function checkTrustAnchor(pem: string): void {
  try {
    new X509Certificate(pem);
  } catch {
    throw new KmsError('IncorrectTrustAnchor', 'TrustAnchorCertificate is not an X.509 certificate in PEM format.');
  }
}

export class CustomKeyStoreOperations {
  /**
   * The changes to one store run one at a time: connect, disconnect, update, delete, the reconnect after
   * unsealing and a failure's record each check the stored state and then act on the connection, which
   * takes a while (a login, a proxy's health check); two of them interleaved would act on a state that
   * no longer holds (two connections for one store, or a live one under a store stored DISCONNECTED).
   */
  private readonly perStore = new SerialByKey();

  constructor(private readonly deps: CustomKeyStoreDeps) {
    deps.connections.onFailed((storeId, code) => void this.perStore.run(storeId, () => this.recordFailure(storeId, code)));
  }

  /** The caller's store, or CustomKeyStoreNotFound: another account's or Region's store is not there for it. */
  private async find(ctx: CallContext, id: string): Promise<CustomKeyStoreRecord> {
    const c = await this.deps.customKeyStores.find(id);
    if (!c || !ownedBy(c, ctx)) throw notFound(id);
    return c;
  }

  private async hsm(id: string): Promise<HsmRecord> {
    const h = await this.deps.hsms.find(id);
    if (!h) throw new KmsError('CloudHsmClusterNotFound', `No HSM with ID ${id} is registered with Kura (see \`kura hsm list\`).`);
    return h;
  }

  // The name, HSM and proxy URI checks run before the slow part of a change, and again in its
  // transaction (with `tx`): another store may have taken them meanwhile, and AWS names that, where the
  // database's unique index alone would answer Internal.
  private async requireNameFree(scope: Pick<CallContext, 'accountId' | 'region'>, name: string, except?: string, tx?: Tx): Promise<void> {
    if ((await this.deps.customKeyStores.listIn(scope, tx)).some((c) => c.name === name && c.id !== except)) {
      throw new KmsError('CustomKeyStoreNameInUse', `A custom key store named ${name} exists already.`);
    }
  }

  /**
   * One custom key store per token: none other on this HSM, nor on another registration of the same
   * token (the same serial number through another module path, a related HSM).
   */
  private async requireHsmFree(hsmId: string, except?: string, tx?: Tx): Promise<void> {
    const all = await this.deps.hsms.list(tx);
    const self = all.find((h) => h.id === hsmId);
    const token = new Set(all.filter((h) => h.id === hsmId || (self !== undefined && sameToken(self, h))).map((h) => h.id));
    if ((await this.deps.customKeyStores.list(tx)).some((c) => c.hsmId !== null && token.has(c.hsmId) && c.id !== except)) {
      throw new KmsError('CloudHsmClusterInUse', `HSM ${hsmId} (or another registration of its token) backs another custom key store already.`);
    }
  }

  create(ctx: CallContext, input: CreateCustomKeyStoreInput): Promise<string> {
    const { directory, connections, customKeyStores } = this.deps;
    return directory.run<{ keys: []; record: CustomKeyStoreRecord }, void, string>(ctx, {
      kind: 'change',
      prepare: async () => {
        const type = input.customKeyStoreType ?? 'AWS_CLOUDHSM';
        if (type === 'EXTERNAL_KEY_STORE') return this.prepareXks(ctx, input);
        if (type !== 'AWS_CLOUDHSM') throw kmsErrors.validation(`CustomKeyStoreType ${type} is not AWS_CLOUDHSM or EXTERNAL_KEY_STORE.`);
        if (namesXks(input)) throw kmsErrors.validation('XksProxy* parameters are valid only for an EXTERNAL_KEY_STORE key store.');
        const { cloudHsmClusterId, trustAnchorCertificate, keyStorePassword } = input;
        if (cloudHsmClusterId === undefined || trustAnchorCertificate === undefined || keyStorePassword === undefined) {
          throw kmsErrors.validation('An AWS_CLOUDHSM key store needs CloudHsmClusterId, TrustAnchorCertificate and KeyStorePassword.');
        }
        const hsm = await this.hsm(cloudHsmClusterId);
        await this.requireHsmFree(hsm.id);
        await this.requireNameFree(ctx, input.customKeyStoreName);
        checkTrustAnchor(trustAnchorCertificate);
        const id = newStoreId();
        const record: CustomKeyStoreRecord = {
          id,
          accountId: ctx.accountId,
          region: ctx.region,
          name: input.customKeyStoreName,
          type: 'AWS_CLOUDHSM',
          connectionState: 'DISCONNECTED',
          createdAt: directory.now(),
          hsmId: hsm.id,
          config: { pinSealed: connections.sealPin(id, keyStorePassword), trustAnchorCertificate },
        };
        return { keys: [], record };
      },
      // An external key store's proxy must answer a health check before the store is created (AWS).
      make: async ({ record }) => {
        if (record.type === 'EXTERNAL_KEY_STORE') await this.requireHealthyProxy(record, ctx.requestId, 'CreateCustomKeyStore');
      },
      apply: async ({ tx }, { record }) => {
        await this.requireNameFree(record, record.name, undefined, tx);
        if (record.hsmId !== null) await this.requireHsmFree(record.hsmId, undefined, tx);
        await this.requireUriFree(record, tx);
        await customKeyStores.insert(tx, record);
        return {
          result: record.id,
          details: { customKeyStoreId: record.id, ...(record.type === 'EXTERNAL_KEY_STORE' ? { xksProxyUri: xksUriOf(record) } : { cloudHsmClusterId: record.hsmId ?? '' }) },
        };
      },
    });
  }

  /** The record of a new EXTERNAL_KEY_STORE store, its settings checked (AWS's patterns; public endpoints only). */
  private async prepareXks(ctx: CallContext, input: CreateCustomKeyStoreInput): Promise<{ keys: []; record: CustomKeyStoreRecord }> {
    if (input.cloudHsmClusterId !== undefined || input.trustAnchorCertificate !== undefined || input.keyStorePassword !== undefined) {
      throw kmsErrors.validation('CloudHsmClusterId, TrustAnchorCertificate and KeyStorePassword are valid only for an AWS_CLOUDHSM key store.');
    }
    const { xksProxyUriEndpoint: endpoint, xksProxyUriPath: uriPath, xksProxyAuthenticationCredential: credential } = input;
    if (endpoint === undefined || uriPath === undefined || credential === undefined || input.xksProxyConnectivity === undefined) {
      throw kmsErrors.validation('An EXTERNAL_KEY_STORE key store needs XksProxyUriEndpoint, XksProxyUriPath, XksProxyAuthenticationCredential and XksProxyConnectivity.');
    }
    const settings = checkXksSettings({ ...input, xksProxyUriEndpoint: endpoint, xksProxyUriPath: uriPath, xksProxyConnectivity: input.xksProxyConnectivity });
    await this.requireNameFree(ctx, input.customKeyStoreName);
    const id = newStoreId();
    const config: XksStoreConfig = {
      uriEndpoint: settings.uriEndpoint,
      uriPath: settings.uriPath,
      connectivity: 'PUBLIC_ENDPOINT',
      accessKeyId: credential.accessKeyId,
      secretSealed: this.deps.xksConnections.sealSecret(id, credential.rawSecretAccessKey),
      region: ctx.region,
    };
    const record: CustomKeyStoreRecord = {
      id,
      accountId: ctx.accountId,
      region: ctx.region,
      name: input.customKeyStoreName,
      type: 'EXTERNAL_KEY_STORE',
      connectionState: 'DISCONNECTED',
      createdAt: this.deps.directory.now(),
      hsmId: null,
      config: config as unknown as Record<string, unknown>,
    };
    await this.requireUriFree(record);
    return { keys: [], record };
  }

  /** AWS: each external key store of an account in a Region has its own proxy URI (endpoint and path). */
  private async requireUriFree(record: CustomKeyStoreRecord, tx?: Tx): Promise<void> {
    if (record.type !== 'EXTERNAL_KEY_STORE') return;
    const uri = xksUriOf(record);
    const other = (await this.deps.customKeyStores.listIn(record, tx)).find((c) => c.id !== record.id && c.type === 'EXTERNAL_KEY_STORE' && xksUriOf(c) === uri);
    if (other) throw new KmsError('XksProxyUriInUse', `External key store ${other.id} uses the XKS proxy at ${uri} already.`);
  }

  /** A health check of a store's proxy with its settings as given; AWS's configuration errors when it fails. */
  private async requireHealthyProxy(record: CustomKeyStoreRecord, requestId: string | undefined, kmsOperation: 'CreateCustomKeyStore' | 'UpdateCustomKeyStore'): Promise<void> {
    const checked = await this.deps.xksConnections.checkSettings(record, requestId ?? randomUUID(), kmsOperation);
    if (!checked.ok) throw settingsRefused(checked);
  }

  describe(ctx: CallContext, input: { customKeyStoreId?: string; customKeyStoreName?: string; limit?: number; marker?: string }): Promise<Page<CustomKeyStoreView>> {
    return this.deps.directory.run(ctx, {
      kind: 'read',
      whileSealed: true,
      run: async () => {
        let all = await this.deps.customKeyStores.listIn(ctx);
        if (input.customKeyStoreId !== undefined) {
          all = all.filter((c) => c.id === input.customKeyStoreId);
          if (all.length === 0) throw notFound(input.customKeyStoreId);
        }
        if (input.customKeyStoreName !== undefined) {
          all = all.filter((c) => c.name === input.customKeyStoreName);
          if (all.length === 0) throw new KmsError('CustomKeyStoreNotFound', `No custom key store is named ${input.customKeyStoreName}.`);
        }
        const page = paginate(all.slice(storesAfter(all, input.marker)), input.limit ?? 1000, (last) => encodeMarker('cks', `${last.createdAt} ${last.id}`));
        return { items: page.items.map((c) => this.view(c)), nextMarker: page.nextMarker };
      },
    });
  }

  /**
   * The HSM ID (AWS: CloudHsmClusterId) behind a key's custom key store, for its KeyMetadata. A plain
   * read, not a call of its own: the call that returns the key was audited.
   */
  async cloudHsmClusterIdOf(customKeyStoreId: string | null): Promise<string | undefined> {
    if (customKeyStoreId === null) return undefined;
    return (await this.deps.customKeyStores.find(customKeyStoreId))?.hsmId ?? undefined;
  }

  view(c: CustomKeyStoreRecord): CustomKeyStoreView {
    const xks = c.type === 'EXTERNAL_KEY_STORE' ? xksStoreConfig(c) : undefined;
    const live = xks ? this.deps.xksConnections.state(c) : this.deps.connections.state(c);
    return {
      id: c.id,
      name: c.name,
      type: c.type,
      ...(c.hsmId !== null ? { cloudHsmClusterId: c.hsmId, trustAnchorCertificate: hsmStoreConfig(c).trustAnchorCertificate } : {}),
      ...(xks ? { xksProxyConfiguration: { connectivity: xks.connectivity, accessKeyId: xks.accessKeyId, uriEndpoint: xks.uriEndpoint, uriPath: xks.uriPath } } : {}),
      connectionState: live.state,
      ...(live.errorCode ? { connectionErrorCode: live.errorCode } : {}),
      createdAt: c.createdAt,
    };
  }

  update(ctx: CallContext, input: UpdateCustomKeyStoreInput): Promise<void> {
    return this.perStore.run(input.customKeyStoreId, () => this.updateNow(ctx, input));
  }

  private async updateNow(ctx: CallContext, input: UpdateCustomKeyStoreInput): Promise<void> {
    // (An unknown ID, or another account's or Region's, goes on to the unit of work below, which audits its refusal.)
    const found = await this.deps.customKeyStores.find(input.customKeyStoreId);
    if (found?.type === 'EXTERNAL_KEY_STORE' && ownedBy(found, ctx)) return this.updateXks(ctx, input);
    const { directory, connections, customKeyStores } = this.deps;
    return directory.run<{ keys: []; next: CustomKeyStoreRecord }, never, void>(ctx, {
      kind: 'change',
      prepare: async () => {
        const c = await this.find(ctx, input.customKeyStoreId);
        if (namesXks(input)) throw kmsErrors.validation('XksProxy* parameters are valid only for an EXTERNAL_KEY_STORE key store.');
        if (c.connectionState !== 'DISCONNECTED') throw invalidState(c, 'disconnect it before updating it.');
        const next: CustomKeyStoreRecord = { ...c, config: { ...c.config } };
        if (input.newCustomKeyStoreName !== undefined) {
          await this.requireNameFree(c, input.newCustomKeyStoreName, c.id);
          next.name = input.newCustomKeyStoreName;
        }
        if (input.cloudHsmClusterId !== undefined && input.cloudHsmClusterId !== c.hsmId) {
          const target = await this.hsm(input.cloudHsmClusterId);
          const current = c.hsmId === null ? undefined : await this.deps.hsms.find(c.hsmId);
          if (!current || !sameToken(current, target)) {
            throw new KmsError('CloudHsmClusterNotRelated', `HSM ${target.id} is not the token that backs ${c.id} (another serial number, or another label or database): its keys would not be there.`);
          }
          await this.requireHsmFree(target.id, c.id);
          next.hsmId = target.id;
        }
        if (input.keyStorePassword !== undefined) next.config.pinSealed = connections.sealPin(c.id, input.keyStorePassword);
        return { keys: [], next };
      },
      apply: async ({ tx }, { next }) => {
        await this.requireNameFree(next, next.name, next.id, tx);
        if (next.hsmId !== null) await this.requireHsmFree(next.hsmId, next.id, tx);
        await customKeyStores.update(tx, next);
        return { result: undefined, details: { customKeyStoreId: next.id } };
      },
    });
  }

  /**
   * AWS's rules for an external key store: its name, proxy URI path and credential may change while it
   * is connected; its endpoint and connectivity only while it is DISCONNECTED. New proxy settings must
   * pass a health check first; a connected store goes on with them at once.
   */
  private updateXks(ctx: CallContext, input: UpdateCustomKeyStoreInput): Promise<void> {
    const { directory, customKeyStores, xksConnections } = this.deps;
    return directory.run<{ keys: []; next: CustomKeyStoreRecord; proxyChanged: boolean }, void, CustomKeyStoreRecord>(ctx, {
      kind: 'change',
      prepare: async () => {
        const c = await this.find(ctx, input.customKeyStoreId);
        if (input.cloudHsmClusterId !== undefined || input.keyStorePassword !== undefined) {
          throw kmsErrors.validation('CloudHsmClusterId and KeyStorePassword are valid only for an AWS_CLOUDHSM key store.');
        }
        if ((input.xksProxyUriEndpoint !== undefined || input.xksProxyConnectivity !== undefined || input.xksProxyVpcEndpointServiceName !== undefined) && c.connectionState !== 'DISCONNECTED') {
          throw invalidState(c, 'disconnect it before changing its proxy endpoint or connectivity.');
        }
        if (c.connectionState === 'DISCONNECTING') throw invalidState(c, 'wait until it is DISCONNECTED.');
        const old = xksStoreConfig(c);
        const credential = input.xksProxyAuthenticationCredential;
        const settings = checkXksSettings({
          xksProxyUriEndpoint: input.xksProxyUriEndpoint ?? old.uriEndpoint,
          xksProxyUriPath: input.xksProxyUriPath ?? old.uriPath,
          xksProxyConnectivity: input.xksProxyConnectivity ?? old.connectivity,
          ...(input.xksProxyVpcEndpointServiceName !== undefined ? { xksProxyVpcEndpointServiceName: input.xksProxyVpcEndpointServiceName } : {}),
          ...(credential ? { xksProxyAuthenticationCredential: credential } : {}),
        }, { endpointStored: input.xksProxyUriEndpoint === undefined });
        const config: XksStoreConfig = {
          ...old,
          ...settings,
          ...(credential ? { accessKeyId: credential.accessKeyId, secretSealed: xksConnections.sealSecret(c.id, credential.rawSecretAccessKey) } : {}),
        };
        const next: CustomKeyStoreRecord = { ...c, config: config as unknown as Record<string, unknown> };
        if (input.newCustomKeyStoreName !== undefined) {
          await this.requireNameFree(c, input.newCustomKeyStoreName, c.id);
          next.name = input.newCustomKeyStoreName;
        }
        await this.requireUriFree(next);
        return { keys: [], next, proxyChanged: namesXks(input) };
      },
      make: async ({ next, proxyChanged }) => {
        if (proxyChanged) await this.requireHealthyProxy(next, ctx.requestId, 'UpdateCustomKeyStore');
      },
      apply: async ({ tx }, { next }) => {
        await this.requireNameFree(next, next.name, next.id, tx);
        await this.requireUriFree(next, tx);
        await customKeyStores.update(tx, next);
        return { result: next, details: { customKeyStoreId: next.id } };
      },
      after: async (next) => {
        if (xksConnections.isOpen(next.id)) await xksConnections.open(next, undefined);
      },
    }).then(() => undefined);
  }

  connect(ctx: CallContext, id: string): Promise<void> {
    const { directory, connections, xksConnections } = this.deps;
    // `opened`: this call opened the connection (a store already connected keeps its own if the commit fails).
    type Outcome = { state: 'CONNECTED' | 'FAILED'; errorCode?: HsmConnectionErrorCode | XksConnectionErrorCode; opened: boolean };
    return this.perStore.run(id, () => directory.run<{ keys: []; c: CustomKeyStoreRecord }, Outcome, void>(ctx, {
      kind: 'change',
      prepare: async () => {
        const c = await this.find(ctx, id);
        if (c.connectionState === 'DISCONNECTING' || c.connectionState === 'FAILED') {
          throw invalidState(c, c.connectionState === 'FAILED' ? 'disconnect it, then connect it again.' : 'wait until it is DISCONNECTED.');
        }
        return { keys: [], c };
      },
      // The token is opened (or the proxy's health checked) outside the transaction: either may take a while.
      make: async ({ c }): Promise<Outcome> => {
        if (c.type === 'EXTERNAL_KEY_STORE') {
          if (xksConnections.isOpen(c.id)) return { state: 'CONNECTED', opened: false };
          // A failure's message is not AWS's to return (ConnectCustomKeyStore answers nothing); its code is stored and audited.
          const health = await xksConnections.open(c, { requestId: ctx.requestId ?? randomUUID(), kmsOperation: 'ConnectCustomKeyStore' });
          return health.state === 'FAILED' ? { state: 'FAILED', errorCode: health.errorCode, opened: true } : { state: health.state, opened: true };
        }
        return connections.isOpen(c.id) ? { state: 'CONNECTED', opened: false } : { ...(await connections.open(c)), opened: true };
      },
      // Only what this call opened is closed: a connection that served the store before the call goes on serving it.
      discard: async (made, { c }) => {
        if (!made.opened) return;
        xksConnections.close(c.id);
        await connections.close(c.id);
      },
      apply: async ({ tx }, { c }, outcome) => {
        await this.store(tx, c.id, outcome.state, outcome.errorCode);
        return { result: undefined, details: { customKeyStoreId: c.id, connectionState: outcome.state, ...(outcome.errorCode ? { connectionErrorCode: outcome.errorCode } : {}) } };
      },
    }));
  }

  disconnect(ctx: CallContext, id: string): Promise<void> {
    const { directory, connections } = this.deps;
    return this.perStore.run(id, () => directory.run<{ keys: []; c: CustomKeyStoreRecord }, void, void>(ctx, {
      kind: 'change',
      whileSealed: true,
      prepare: async () => {
        const c = await this.find(ctx, id);
        if (c.connectionState === 'DISCONNECTED' || c.connectionState === 'DISCONNECTING') throw invalidState(c, 'it is not connected.');
        return { keys: [], c };
      },
      make: async ({ c }) => {
        this.deps.xksConnections.close(c.id);
        await connections.close(c.id);
      },
      apply: async ({ tx }, { c }) => {
        await this.store(tx, c.id, 'DISCONNECTED');
        return { result: undefined, details: { customKeyStoreId: c.id } };
      },
    }));
  }

  delete(ctx: CallContext, id: string): Promise<void> {
    const { directory, customKeyStores } = this.deps;
    const requireNoKeys = async (storeId: string, tx?: Tx) => {
      const keys = await customKeyStores.countKeys(storeId, tx);
      if (keys > 0) {
        throw new KmsError('CustomKeyStoreHasCMKs', `Custom key store ${storeId} still holds ${keys} KMS key(s): schedule their deletion and wait until they are deleted.`);
      }
    };
    return this.perStore.run(id, () => directory.run<{ keys: []; c: CustomKeyStoreRecord }, never, void>(ctx, {
      kind: 'change',
      whileSealed: true,
      prepare: async () => {
        const c = await this.find(ctx, id);
        if (c.connectionState !== 'DISCONNECTED') throw invalidState(c, 'disconnect it before deleting it.');
        // Counted here too, before the approval gate: a store that still holds keys is refused at once,
        // not made an approval request (a `key-store` quorum policy) that could only fail once approved.
        await requireNoKeys(c.id);
        return { keys: [], c };
      },
      apply: async ({ tx }, { c }) => {
        // The store's keys (those pending deletion too) are counted again in the transaction that deletes
        // it: a CreateKey that committed after this call was prepared is counted, and one that commits after
        // it finds the store gone. Counted only before, the delete would leave (or trip over) a key in no store.
        await requireNoKeys(c.id, tx);
        if (!(await customKeyStores.delete(tx, c.id))) throw notFound(c.id);
        return { result: undefined, details: { customKeyStoreId: c.id } };
      },
    }));
  }

  /**
   * GenerateRandom with a CustomKeyStoreId: the bytes come from the token of an AWS_CLOUDHSM store,
   * which must be CONNECTED (AWS: CustomKeyStoreInvalidStateException otherwise).
   */
  generateRandom(ctx: CallContext, input: { numberOfBytes?: number; customKeyStoreId: string }): Promise<Buffer> {
    const { directory, connections } = this.deps;
    return directory.run<{ keys: []; c: CustomKeyStoreRecord }, never, Buffer>(ctx, {
      kind: 'read',
      check: () => {
        if (input.numberOfBytes === undefined) throw kmsErrors.validation('NumberOfBytes is required.');
      },
      prepare: async () => {
        const c = await this.find(ctx, input.customKeyStoreId);
        if (c.type !== 'AWS_CLOUDHSM') throw new KmsError('UnsupportedOperation', `GenerateRandom takes the CustomKeyStoreId of an AWS_CLOUDHSM key store only; ${c.id} is an external key store.`);
        if (!connections.isOpen(c.id) || connections.state(c).state !== 'CONNECTED') throw invalidState(c, 'connect it to generate random bytes in its HSM.');
        return { keys: [], c };
      },
      run: async ({ c }) => connections.random(c.id, input.numberOfBytes!),
    });
  }

  /** Connection state and, for FAILED, its code, as stored (CustomKeyStoreRecord.config keeps the code). */
  private async store(
    tx: Parameters<CustomKeyStoreRepository['update']>[0],
    id: string,
    state: CustomKeyStoreRecord['connectionState'],
    errorCode?: HsmConnectionErrorCode | XksConnectionErrorCode,
  ): Promise<void> {
    const c = await this.deps.customKeyStores.find(id, tx);
    if (!c) throw notFound(id);
    const { connectionErrorCode: _, ...config } = hsmStoreConfig(c);
    await this.deps.customKeyStores.update(tx, { ...c, config: { ...config, ...(errorCode ? { connectionErrorCode: errorCode } : {}) } });
    await this.deps.customKeyStores.setConnectionState(tx, id, state);
  }

  /** A token failed mid-use: its store is FAILED (audited as Kura's own change). */
  private async recordFailure(storeId: string, code: HsmConnectionErrorCode): Promise<void> {
    try {
      await this.deps.directory.run({ scheduler: true, operation: 'CustomKeyStoreFailed' }, {
        kind: 'change',
        whileSealed: true,
        apply: async ({ tx }) => {
          // A store disconnected meanwhile (the failure queued behind that change) stays DISCONNECTED.
          const c = await this.deps.customKeyStores.find(storeId, tx);
          const details: Record<string, string> = { customKeyStoreId: storeId, connectionErrorCode: code };
          if (!c || c.connectionState !== 'CONNECTED') details.connectionState = c?.connectionState ?? 'deleted';
          else await this.store(tx, storeId, 'FAILED', code);
          return { result: undefined, details };
        },
      });
    } catch {
      // Audited as a failure by the unit of work; the store stays closed either way.
    }
  }

  /**
   * After unsealing (and at start, unsealed): reopens every store stored as CONNECTED; one that fails is
   * recorded FAILED. Sealed meanwhile, it stops: the stores left stay CONNECTED, for the next unseal.
   */
  async reopenConnected(): Promise<void> {
    try {
      for (const listed of await this.deps.customKeyStores.list()) {
        if (listed.connectionState !== 'CONNECTED') continue;
        await this.perStore.run(listed.id, async () => {
          // Read again in its turn: a change queued before it (a disconnect, say) has the last word.
          const c = await this.deps.customKeyStores.find(listed.id);
          if (!c || c.connectionState !== 'CONNECTED') return;
          if (c.type === 'EXTERNAL_KEY_STORE') {
            // AWS keeps an external key store CONNECTED whether or not its proxy answers now.
            if (!this.deps.xksConnections.isOpen(c.id)) await this.deps.xksConnections.open(c, undefined);
            return;
          }
          if (this.deps.connections.isOpen(c.id)) return;
          const outcome = await this.deps.connections.open(c);
          if (outcome.state === 'FAILED') await this.recordFailure(c.id, outcome.errorCode ?? 'INTERNAL_ERROR');
        });
      }
    } catch (e) {
      if (!isKmsError(e) || e.code !== 'Sealed') throw e;
    }
  }
}

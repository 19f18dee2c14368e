// Builds the KMS domain from its dependencies — key stores and their registry, the key directory with
// its unit of work, the operations, the façade, the scheduled jobs and their scheduler — in one place,
// for the composition root (main/app.ts) and the tests' domain (test/support/domain.ts) alike.
import type { AuditLog } from '../audit/audit-log.js';
import type { Clock } from '../common/clock.js';
import type { Monotonic } from '../common/monotonic.js';
import type { Logger } from '../common/log.js';
import type { Aead } from '../crypto/aead.js';
import type { KeyWrap } from '../crypto/key-wrap.js';
import { KeyStoreRegistry } from '../keystores/key-store.js';
import { StandardKeyStore } from '../keystores/standard/standard-key-store.js';
import type { RootKeyHolder } from '../seal/root-key.js';
import type { Store } from '../store/index.js';
import { NoQuorumYetApprovalGate, type ApprovalGate } from './approval-gate.js';
import { AllowAllUntilPoliciesAuthorizer, type Authorizer } from './authorization.js';
import { HsmConnections, type HsmConnector } from './custom-key-stores.js';
import { XksConnections, type XksClientOptions } from './external-key-stores.js';
import { Kms } from './index.js';
import { ScheduledJobs } from './jobs/due.js';
import { LifecycleScheduler } from './jobs/scheduler.js';
import { KeyDirectory } from './key-directory.js';
import { AliasOperations } from './operations/aliases.js';
import { AsymmetricOperations } from './operations/asymmetric.js';
import { CustomKeyStoreOperations } from './operations/custom-key-stores.js';
import { HsmRegistry } from './operations/hsm-registry.js';
import { HsmTokenKeys } from './hsm-token-keys.js';
import { EncryptionOperations } from './operations/encryption.js';
import { ImportOperations } from './operations/import.js';
import { LifecycleOperations } from './operations/lifecycle.js';
import { PolicyOperations } from './operations/policies.js';
import { RotationOperations } from './operations/rotation.js';
import { TagOperations } from './operations/tags.js';
import { XksProxy } from './xks-proxy.js';

export interface KmsDomainDeps {
  store: Store;
  root: RootKeyHolder;
  audit: AuditLog;
  clock: Clock;
  /** For durations: the XKS health cache's age, the scheduler's view of clock jumps. */
  monotonic: Monotonic;
  aead: Aead;
  keyWrap: KeyWrap;
  log: Logger;
  /** How often the scheduler looks for due deletions, rotations and expiries. */
  schedulerIntervalMs: number;
  /** The newest audit entry's time as the appliance started, for the scheduler's view of a clock stepped back while stopped. */
  lastRecordedAt?: number | null;
  /** The authorization and approval ports; Kura's only implementations so far allow everything. */
  authorizer?: Authorizer;
  gate?: ApprovalGate;
  /** How HSM key stores reach their tokens (main/keystores/hsm); without one, no HSM can be registered or connected. */
  hsmConnector?: HsmConnector;
  /** How external key stores reach their XKS proxies: extra CAs, connect-to addresses, the call deadline. */
  xksClient?: XksClientOptions;
  /** XKS proxy calls per second per store before ThrottlingException (default 1,800). */
  xksRequestsPerSecond?: number;
}

/** What an appliance without PKCS#11 support answers when asked to use an HSM. */
const NO_HSM_SUPPORT: HsmConnector = {
  probe: () => Promise.reject(Object.assign(new Error('this appliance was built without PKCS#11 support'), { code: 'INTERNAL_ERROR' })),
  connect: () => Promise.reject(Object.assign(new Error('this appliance was built without PKCS#11 support'), { code: 'INTERNAL_ERROR' })),
};

export interface KmsDomain {
  kms: Kms;
  jobs: ScheduledJobs;
  scheduler: LifecycleScheduler;
  directory: KeyDirectory;
  registry: KeyStoreRegistry;
  standardStore: StandardKeyStore;
  customKeyStores: CustomKeyStoreOperations;
  connections: HsmConnections;
  xksConnections: XksConnections;
  /**
   * What follows an unseal: the custom key stores that were connected connect again (their PINs are
   * sealed under the root key), then what fell due while sealed is done. In that order: a key of an HSM
   * key store whose deletion waited for the unseal is destroyed on its token, not left behind there.
   */
  afterUnseal(): Promise<void>;
  /**
   * The custom key stores that were connected connect again, once unsealed (their PINs are sealed under
   * the root key); until then the scheduler deletes no key of theirs (jobs/due.ts).
   */
  reopenCustomKeyStores(): Promise<void>;
}

export function buildKmsDomain(deps: KmsDomainDeps): KmsDomain {
  const { store, root, audit, clock, log } = deps;
  const standardStore = new StandardKeyStore({ aead: deps.aead, root, keyWrap: deps.keyWrap });
  const registry = new KeyStoreRegistry({ standard: standardStore, root });
  const directory = new KeyDirectory({
    store,
    root,
    audit,
    clock,
    registry,
    authorizer: deps.authorizer ?? new AllowAllUntilPoliciesAuthorizer(),
    gate: deps.gate ?? new NoQuorumYetApprovalGate(),
    log,
  });
  const opDeps = { directory, keys: store.keys, aliases: store.aliases, importTokens: store.importTokens };
  const encryption = new EncryptionOperations(opDeps);
  const connections = new HsmConnections({ store, registry, root, connector: deps.hsmConnector ?? NO_HSM_SUPPORT, log });
  const xksConnections = new XksConnections({ registry, root, standard: standardStore, log, ...(deps.xksClient ? { options: deps.xksClient } : {}) });
  const customKeyStores = new CustomKeyStoreOperations({ ...opDeps, customKeyStores: store.customKeyStores, hsms: store.hsms, connections, xksConnections });
  const xks = new XksProxy({ store, directory, root, standard: standardStore, hsmConnector: connections.connector, log, clock, monotonic: deps.monotonic, requestsPerSecond: deps.xksRequestsPerSecond });
  const kms = new Kms({
    lifecycle: new LifecycleOperations({ ...opDeps, customKeyStores: store.customKeyStores }),
    encryption,
    asymmetric: new AsymmetricOperations({ ...opDeps, encryption }),
    aliases: new AliasOperations(opDeps),
    tags: new TagOperations(opDeps),
    rotation: new RotationOperations(opDeps),
    policies: new PolicyOperations(opDeps),
    imports: new ImportOperations(opDeps),
    customKeyStores,
    hsms: new HsmRegistry({ directory, hsms: store.hsms, customKeyStores: store.customKeyStores, connections, xksStores: store.xks }),
    tokenKeys: new HsmTokenKeys({ directory, store, connections, xksTokens: xks.hsmTokens }),
    xks,
  });
  const jobs = new ScheduledJobs({ ...opDeps, root, db: store.db, log });
  const scheduler = new LifecycleScheduler({ jobs, log, intervalMs: deps.schedulerIntervalMs, clock, monotonic: deps.monotonic, lastRecordedAt: deps.lastRecordedAt });
  const reopenCustomKeyStores = async () => {
    try {
      await kms.reconnectCustomKeyStores();
    } finally {
      jobs.customKeyStoresReopened();
    }
  };
  const afterUnseal = async () => {
    try {
      await reopenCustomKeyStores();
    } finally {
      await scheduler.runOnce();
    }
  };
  return { kms, jobs, scheduler, directory, registry, standardStore, customKeyStores, connections, xksConnections, reopenCustomKeyStores, afterUnseal };
}

// The HSMs Kura knows (`kura hsm add|list|test|remove`, the console): a PKCS#11 module and a token
// label, registered once the token is found there (and, given its PIN, once a login works; the PIN is not
// kept), under an ID of a CloudHSM cluster ID's shape, which is what AWS_CLOUDHSM custom key stores
// (./custom-key-stores.ts) and XKS proxy stores (../xks-proxy.ts) name. One registration per module
// and label (compared trimmed, as tokens are looked up); the same token through another module path
// may be registered again, as a related HSM a store can move to. An HSM is removed only while no store
// of either kind is on it, checked before and again inside the transaction. Every change runs through
// the unit of work (../key-directory.ts) and is audited.
import { randomBytes } from 'node:crypto';
import { KmsError, kmsErrors } from '../../common/errors.js';
import type { CustomKeyStoreRepository, HsmRecord, HsmRepository, Tx, XksRepository } from '../../store/index.js';
import { connectionErrorCodeOf, tokenConfigOf, type HsmConnections, type HsmTokenConfig, type HsmTokenInfo } from '../custom-key-stores.js';
import type { OperatorCall } from '../key-directory.js';
import type { OperationDeps } from './common.js';

export interface HsmRegistryDeps extends Pick<OperationDeps, 'directory'> {
  hsms: HsmRepository;
  customKeyStores: Pick<CustomKeyStoreRepository, 'list'>;
  connections: Pick<HsmConnections, 'connector'>;
  /** XKS proxy stores, which may keep their keys on a registered HSM too. */
  xksStores: Pick<XksRepository, 'listStores'>;
}

/** A CloudHSM cluster ID's shape (cluster-[2-7a-zA-Z]{11,16}): cluster- and 11 base32 characters. */
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const newHsmId = () => `cluster-${[...randomBytes(11)].map((b) => BASE32[b & 31]).join('')}`;

/** A probe's answer, or why its module or token cannot be used, as the KMS error `kura hsm add|test` answer. */
async function probed(probe: Promise<HsmTokenInfo>): Promise<HsmTokenInfo> {
  try {
    return await probe;
  } catch (e) {
    const why = e instanceof Error ? e.message.replace(/\.$/, '') : 'the module or token was not found';
    // A message that says what cannot be used already is not prefixed again.
    throw new KmsError('CloudHsmClusterInvalidConfiguration', `${/cannot be used/.test(why) ? why : `The HSM cannot be used: ${why}`}.`);
  }
}

export class HsmRegistry {
  constructor(private readonly deps: HsmRegistryDeps) {}

  /** A registered HSM, or CloudHsmClusterNotFound. */
  async find(id: string): Promise<HsmRecord> {
    const h = await this.deps.hsms.find(id);
    if (!h) throw new KmsError('CloudHsmClusterNotFound', `No HSM with ID ${id} is registered with Kura (see \`kura hsm list\`).`);
    return h;
  }

  /**
   * Registers a module and token after checking that the token is there (and, given its PIN, that a
   * login works; the PIN is not kept); its ID names it as CloudHsmClusterId.
   */
  registerHsm(op: OperatorCall, config: HsmTokenConfig, checkPin?: string): Promise<{ hsm: HsmRecord; token: HsmTokenInfo }> {
    const { directory, connections, hsms } = this.deps;
    return directory.run<{ keys: [] }, HsmTokenInfo, { hsm: HsmRecord; token: HsmTokenInfo }>(op, {
      kind: 'change',
      whileSealed: true,
      check: () => {
        if (config.tokenLabel.trim() === '' || config.tokenLabel.length > 32) throw kmsErrors.validation('A token label has 1 to 32 characters.');
      },
      make: async () => {
        const token = await probed(connections.connector.probe(config));
        if (checkPin !== undefined) {
          try {
            // The token probed, by its serial: not another one labelled alike that appeared meanwhile.
            await (await connections.connector.connect({ ...config, serialNumber: token.serialNumber, pin: checkPin })).close();
          } catch (e) {
            throw new KmsError('CloudHsmClusterInvalidConfiguration', `The token is there, but logging in to it failed (${connectionErrorCodeOf(e)}).`);
          }
        }
        return token;
      },
      apply: async ({ tx }, _p, token) => {
        // The same token however it is named: its label is matched trimmed, and another path to the module
        // (a link, another directory) finds the same serial number.
        // The label is matched trimmed, as tokens are looked up. (The same token through another module
        // path may be registered: it is a related HSM, where a store can move; see requireHsmFree.)
        const existing = (await hsms.list(tx)).find((h) => h.modulePath === config.modulePath && h.tokenLabel.trim() === config.tokenLabel.trim());
        if (existing) throw new KmsError('AlreadyExists', `That module and token are registered already, as ${existing.id}.`);
        const hsm: HsmRecord = {
          id: newHsmId(),
          modulePath: config.modulePath,
          tokenLabel: config.tokenLabel,
          libraryParameters: config.libraryParameters ?? null,
          manufacturer: token.manufacturerId,
          model: token.model,
          serialNumber: token.serialNumber,
          createdAt: directory.now(),
        };
        await hsms.insert(tx, hsm);
        return { result: { hsm, token }, details: { hsmId: hsm.id, tokenLabel: hsm.tokenLabel } };
      },
    });
  }

  listHsms(): Promise<HsmRecord[]> {
    return this.deps.hsms.list();
  }

  /** Whether a registered HSM's token (its label and serial number) is there now (no login); CloudHsmClusterInvalidConfiguration says why not. */
  async testHsm(id: string): Promise<HsmTokenInfo> {
    const h = await this.find(id);
    return probed(this.deps.connections.connector.probe(tokenConfigOf(h)));
  }

  private async requireHsmUnused(id: string, tx?: Tx): Promise<void> {
    const user = (await this.deps.customKeyStores.list(tx)).find((c) => c.hsmId === id);
    if (user) throw new KmsError('CloudHsmClusterInUse', `HSM ${id} backs custom key store ${user.id}: delete that store first.`);
    const proxyStore = (await this.deps.xksStores.listStores(tx)).find((s) => s.hsmId === id);
    if (proxyStore) throw new KmsError('CloudHsmClusterInUse', `HSM ${id} keeps the keys of XKS proxy store ${proxyStore.id}: delete that store first (kura xks stores delete).`);
  }

  removeHsm(op: OperatorCall, id: string): Promise<void> {
    const { directory, hsms } = this.deps;
    return directory.run<{ keys: [] }, never, void>(op, {
      kind: 'change',
      whileSealed: true,
      prepare: async () => {
        await this.find(id);
        await this.requireHsmUnused(id);
        return { keys: [] };
      },
      apply: async ({ tx }) => {
        // Again in the transaction: a store made on the HSM since prepare would otherwise fail the delete as a constraint.
        await this.requireHsmUnused(id, tx);
        if (!(await hsms.delete(tx, id))) throw new KmsError('CloudHsmClusterNotFound', `No HSM with ID ${id} is registered with Kura.`);
        return { result: undefined, details: { hsmId: id } };
      },
    });
  }
}

// How a client command finds the appliance it talks to.
// Data directory, first found: --data-dir / KURA_DATA_DIR / the config file's dataDir; then
// ./.kura-dev if it holds a Kura (a runtime file or a database: what `npm start` makes in the
// current directory) and is this user's alone; then the user's ($XDG_DATA_HOME/kura, else ~/.local/share/kura).
// Endpoint: --endpoint / KURA_ENDPOINT; else the one the running appliance wrote in its data
// directory's runtime file; else http://127.0.0.1:7420 (or KURA_HOST / KURA_PORT).
// A runtime file whose pid is not alive is stale (the appliance was killed) and ignored.
// The data directory's admin token is sent only to the endpoint of its live runtime file or one the
// user named (admin-client.ts says why).
import fs from 'node:fs';
import path from 'node:path';
import { databaseFile, runtimeFile, type RuntimeInfo } from '../app.js';
import { AuditLog } from '../audit/audit-log.js';
import { systemClock } from '../common/clock.js';
import { openDirectoryProblem } from '../common/private-directory.js';
import { openStore, type Store } from '../store/index.js';
import { AdminClient } from './admin-client.js';
import { CliError, type Invocation } from './command.js';
import { ConfigError, resolveClientConfig, type ConfigFlags } from './config.js';

export const DEV_DATA_DIR = '.kura-dev';

export interface Located {
  dataDir: string;
  endpoint: string;
  /** The running appliance's runtime file, if it has one that is not stale. */
  runtime?: RuntimeInfo;
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: alive, but another user's.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The runtime file of a live appliance in `dataDir`, or undefined (absent, unreadable or stale). */
export function readRuntime(dataDir: string): RuntimeInfo | undefined {
  let info: Partial<RuntimeInfo>;
  try {
    info = JSON.parse(fs.readFileSync(runtimeFile(dataDir), 'utf8')) as Partial<RuntimeInfo>;
  } catch {
    return undefined;
  }
  if (typeof info.endpoint !== 'string' || typeof info.pid !== 'number' || !Number.isInteger(info.pid) || info.pid <= 0) return undefined;
  return pidAlive(info.pid) ? (info as RuntimeInfo) : undefined;
}

const holdsKura = (dir: string): boolean => fs.existsSync(runtimeFile(dir)) || fs.existsSync(databaseFile(dir));

/**
 * ./.kura-dev is taken only when it is this user's (or root's) and no one else can write to it: in a
 * shared working directory another user could have made it, with a runtime file naming their own
 * endpoint, and `kura unseal` would send them the shares (`credentials profile`, a profile pointing the
 * AWS CLI at them). A directory named with --data-dir is the operator's choice, and is used as named.
 */
const ownDevDir = (dir: string): boolean => {
  try {
    return openDirectoryProblem(dir) === undefined;
  } catch {
    return false;
  }
};

export function locate(inv: Invocation): Located {
  const cfg = resolveClientConfig(inv.values as ConfigFlags);
  let dataDir = cfg.dataDir;
  if (!cfg.dataDirGiven) {
    const dev = path.resolve(DEV_DATA_DIR);
    if (holdsKura(dev) && ownDevDir(dev)) dataDir = dev;
  }
  const runtime = readRuntime(dataDir);
  const endpoint = cfg.endpointGiven ? cfg.endpoint : (runtime?.endpoint ?? cfg.endpoint);
  return { dataDir, endpoint, ...(runtime ? { runtime } : {}) };
}

export function adminClient(inv: Invocation): AdminClient {
  const { endpoint, dataDir, runtime } = locate(inv);
  const cfg = resolveClientConfig(inv.values as ConfigFlags);
  return new AdminClient(endpoint, dataDir, cfg.endpointGiven || runtime !== undefined);
}

/** Opens the located data directory's database read-only, as `kura audit …` does. */
export async function openAuditReadOnly(inv: Invocation): Promise<{ store: Store; log: AuditLog; dataDir: string }> {
  const { dataDir } = locate(inv);
  const file = databaseFile(dataDir);
  if (!fs.existsSync(file)) throw new ConfigError(`No Kura database at ${file}; pass --data-dir.`);
  let store: Store;
  try {
    store = await openStore(file, { readonly: true });
  } catch (e) {
    throw new CliError('Database', `Cannot open ${file} read-only: ${(e as Error).message}`);
  }
  return { store, log: new AuditLog({ db: store.db, repo: store.audit, clock: systemClock }), dataDir };
}

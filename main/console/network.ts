// Whether the machine is offline, from its interface table (os.networkInterfaces()'s shape): what the
// desktop's indicator and the console's network.status command both show. A ceremony should run with
// no interface up but loopback. An interface counts as up when it is listed with an address and is not
// internal; a link-local IPv6 address counts too (something on the link can reach it).
import type { NetworkStatusView } from './views.js';

/** What os.networkInterfaces() answers (only the fields read here). */
export type InterfaceTable = Record<string, { address: string; family: string | number; internal: boolean }[] | undefined>;

/** The status of an interface table: every non-loopback address, sorted, and whether there is none. */
export function networkStatus(table: InterfaceTable): NetworkStatusView {
  const interfaces = Object.entries(table)
    .flatMap(([name, addresses]) => (addresses ?? []).filter((a) => !a.internal).map((a) => ({ name, address: a.address, family: String(a.family) })))
    .sort((a, b) => a.name.localeCompare(b.name) || a.address.localeCompare(b.address));
  return { interfaces, offline: interfaces.length === 0 };
}

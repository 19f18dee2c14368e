// What the operator console and the admin API serve about plugged tokens, and what
// `kura devices --json` prints: a JSON-safe summary of one listing (strings, numbers, booleans and
// null only), with the reason when there is nothing to show. One shape for every surface, so the
// console, the API and the CLI cannot tell an operator different things.
import type { Clock } from '../../common/clock.js';
import { systemClock } from '../../common/clock.js';
import type { DiscoveryProblem, UsbBackend } from './backend.js';
import { listUsbDevices, tokensOf, unknownDevicesOf, whyNoTokens, type DeviceListing, type PluggedDevice } from './discovery.js';
import type { Pkcs11ModuleHint, TokenKind } from './known-tokens.js';

/** One device as the console shows it. */
export interface DeviceSummary {
  id: string;
  /** The table's name ("YubiHSM 2"), else the device's own product string, else "unknown device". */
  name: string;
  /** null for a device the table does not know. */
  kind: TokenKind | null;
  known: boolean;
  vidPid: string;
  vendorId: number;
  productId: number;
  product: string | null;
  manufacturer: string | null;
  serialNumber: string | null;
  busNumber: number | null;
  deviceAddress: number | null;
  /** "1-2.3", as Linux names the device in sysfs; null when libusb did not see it. */
  port: string | null;
  matchedBy: 'id' | 'interface-class' | null;
  /** The PKCS#11 modules that drive it, the preferred one first. */
  modules: Pkcs11ModuleHint[];
  note: string | null;
}

export interface DevicesSummary {
  /** When the bus was listed (ISO 8601). */
  checkedAt: string;
  /** Known tokens. */
  tokens: DeviceSummary[];
  /** How many other devices are plugged in (hubs aside). */
  otherDevices: number;
  /** Why the view is partial or empty (no USB bus, libusb missing); empty when it is whole. */
  problems: DiscoveryProblem[];
  /** When there is no token: why, in one sentence; null otherwise. */
  emptyReason: string | null;
}

export function summarizeDevice(d: PluggedDevice): DeviceSummary {
  return {
    id: d.id,
    name: d.match?.name ?? d.product ?? 'unknown device',
    kind: d.match?.kind ?? null,
    known: d.match !== null,
    vidPid: d.vidPid,
    vendorId: d.vendorId,
    productId: d.productId,
    product: d.product,
    manufacturer: d.manufacturer,
    serialNumber: d.serialNumber,
    busNumber: d.usb?.busNumber ?? null,
    deviceAddress: d.usb?.deviceAddress ?? null,
    port: d.usb ? (d.usb.portPath === null ? null : `${d.usb.busNumber}-${d.usb.portPath}`) : null,
    matchedBy: d.match?.matchedBy ?? null,
    modules: (d.match?.modules ?? []).map((m) => ({ ...m })),
    note: d.match?.note ?? null,
  };
}

export function summarizeListing(listing: DeviceListing, clock: Clock = systemClock): DevicesSummary {
  const tokens = tokensOf(listing.devices);
  return {
    checkedAt: new Date(clock.nowMs()).toISOString(),
    tokens: tokens.map(summarizeDevice),
    otherDevices: unknownDevicesOf(listing.devices).length,
    problems: listing.problems.map((p) => ({ ...p })),
    emptyReason: tokens.length === 0 ? whyNoTokens(listing) : null,
  };
}

/** Lists the bus now and summarises it for the console; never throws. */
export async function devicesSummary(deps: { backend?: UsbBackend; clock?: Clock } = {}): Promise<DevicesSummary> {
  return summarizeListing(await listUsbDevices(deps.backend), deps.clock);
}

// Lists what is plugged into the USB bus: libusb's view of every device (IDs, bus position,
// interface classes) merged with hidapi's view of the same vendor:product (product, manufacturer
// and serial strings, hidraw paths), each device annotated with the known-token table's match.
//
// It never throws: a machine without a USB bus, without libusb or without udev lists nothing and
// says why (DiscoveryProblem), so that `kura devices`, the console and the admin API can tell an
// operator "no USB bus in this container" rather than fail.
import { loadUsbBackend, type DiscoveryProblem, type HidDeviceLike, type UsbBackend, type UsbDeviceLike } from './backend.js';
import { matchToken, vidPid, type TokenMatch } from './known-tokens.js';

/** USB-IF device class of a hub: root hubs and hubs are plumbing, not devices an operator plugged. */
export const HUB_DEVICE_CLASS = 0x09;

/** libusb's view of one device. */
export interface UsbView {
  busNumber: number;
  deviceAddress: number;
  /** "2.3": ports from the root hub (Linux names the device "<bus>-2.3"); null where unknown. */
  portPath: string | null;
  deviceClass: number;
  /** Interface classes of the active configuration; null when its descriptor could not be read. */
  interfaceClasses: number[] | null;
}

/** One HID interface of a device, as hidapi reports it. */
export interface HidView {
  path: string | null;
  interface: number | null;
  usagePage: number | null;
  usage: number | null;
  product: string | null;
}

/** A plugged device; JSON-safe (no Buffers, no undefined). */
export interface PluggedDevice {
  /** Stable while the device stays in the same port: "usb:1-2.3", "usb:1@7" or "hid:<path>". */
  id: string;
  vendorId: number;
  productId: number;
  /** "1050:0030". */
  vidPid: string;
  product: string | null;
  manufacturer: string | null;
  serialNumber: string | null;
  /** null when only hidapi saw it (libusb unavailable). */
  usb: UsbView | null;
  hid: HidView[];
  /** The known-token table's entry; null for a device it does not know (a mouse, a hub). */
  match: TokenMatch | null;
}

export interface DeviceListing {
  devices: PluggedDevice[];
  problems: DiscoveryProblem[];
}

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
const str = (s: string | undefined): string | null => (s === undefined || s === '' ? null : s);
const num = (n: number | undefined): number | null => (n === undefined || n < 0 ? null : n);

/** Reads libusb's device record without opening the device. */
export function usbViewOf(d: UsbDeviceLike): UsbView {
  let interfaceClasses: number[] | null = null;
  try {
    const config = d.configDescriptor;
    if (config) {
      const classes = new Set<number>();
      for (const alts of config.interfaces) for (const alt of alts) classes.add(alt.bInterfaceClass);
      interfaceClasses = [...classes].sort((a, b) => a - b);
    }
  } catch {
    // LIBUSB_ERROR_NOT_FOUND and kin: gone, or unconfigured; the IDs still identify it.
  }
  const ports = d.portNumbers;
  return {
    busNumber: d.busNumber,
    deviceAddress: d.deviceAddress,
    portPath: ports && ports.length > 0 ? ports.join('.') : null,
    deviceClass: d.deviceDescriptor.bDeviceClass,
    interfaceClasses,
  };
}

export const usbDeviceId = (u: UsbView): string => (u.portPath === null ? `usb:${u.busNumber}@${u.deviceAddress}` : `usb:${u.busNumber}-${u.portPath}`);

const hidViewOf = (h: HidDeviceLike): HidView => ({
  path: str(h.path),
  interface: num(h.interface),
  usagePage: num(h.usagePage),
  usage: num(h.usage),
  product: str(h.product),
});

/** The first non-empty string among a device's HID interfaces. */
const firstOf = (hid: readonly HidDeviceLike[], pick: (h: HidDeviceLike) => string | undefined): string | null => {
  for (const h of hid) {
    const v = str(pick(h));
    if (v !== null) return v;
  }
  return null;
};

/** A device as libusb saw it (plus hidapi's interfaces of it), matched against the table. */
export function deviceOf(raw: UsbDeviceLike, hid: readonly HidDeviceLike[] = []): PluggedDevice {
  const usb = usbViewOf(raw);
  const { idVendor: vendorId, idProduct: productId } = raw.deviceDescriptor;
  return {
    id: usbDeviceId(usb),
    vendorId,
    productId,
    vidPid: vidPid(vendorId, productId),
    product: firstOf(hid, (h) => h.product),
    manufacturer: firstOf(hid, (h) => h.manufacturer),
    serialNumber: firstOf(hid, (h) => h.serialNumber),
    usb,
    hid: hid.map(hidViewOf),
    match: matchToken(vendorId, productId, usb.interfaceClasses, usb.deviceClass),
  };
}

/** hidapi's libusb backend names an interface "<bus>-<ports>:<config>.<interface>" ("1-2.3:1.0"). */
const LIBUSB_HID_PATH = /^(\d+)-([\d.]+):\d+\.\d+$/;

/**
 * Joins the two views. hidapi gives no bus position on Linux (its paths are /dev/hidrawN), so a HID
 * interface joins the one USB device with its vendor:product; when several identical tokens are
 * plugged, it joins by a libusb-style path if it has one, and otherwise joins none rather than
 * lend one token's serial number to another. HID interfaces with no USB device at all (libusb
 * unavailable) become devices of their own, one per vendor:product and serial number.
 */
export function mergeViews(usbDevices: readonly UsbDeviceLike[], hidDevices: readonly HidDeviceLike[]): PluggedDevice[] {
  const key = (v: number, p: number) => v * 0x10000 + p;
  const usbByKey = new Map<number, UsbDeviceLike[]>();
  for (const d of usbDevices) {
    const k = key(d.deviceDescriptor.idVendor, d.deviceDescriptor.idProduct);
    usbByKey.set(k, [...(usbByKey.get(k) ?? []), d]);
  }
  const hidFor = new Map<UsbDeviceLike, HidDeviceLike[]>();
  const orphans = new Map<string, HidDeviceLike[]>();
  for (const h of hidDevices) {
    const candidates = usbByKey.get(key(h.vendorId, h.productId)) ?? [];
    let owner: UsbDeviceLike | undefined;
    if (candidates.length === 1) owner = candidates[0];
    else if (candidates.length > 1) {
      const m = LIBUSB_HID_PATH.exec(h.path ?? '');
      if (m) owner = candidates.find((d) => d.busNumber === Number(m[1]) && (d.portNumbers ?? []).join('.') === m[2]);
    }
    if (owner) hidFor.set(owner, [...(hidFor.get(owner) ?? []), h]);
    else if (candidates.length === 0) {
      const k = `${vidPid(h.vendorId, h.productId)}/${h.serialNumber ?? ''}`;
      orphans.set(k, [...(orphans.get(k) ?? []), h]);
    }
  }
  const devices = usbDevices.map((d) => deviceOf(d, hidFor.get(d) ?? []));
  for (const group of orphans.values()) {
    const first = group[0]!;
    devices.push({
      id: `hid:${first.path ?? `${vidPid(first.vendorId, first.productId)}/${first.serialNumber ?? ''}`}`,
      vendorId: first.vendorId,
      productId: first.productId,
      vidPid: vidPid(first.vendorId, first.productId),
      product: firstOf(group, (h) => h.product),
      manufacturer: firstOf(group, (h) => h.manufacturer),
      serialNumber: firstOf(group, (h) => h.serialNumber),
      usb: null,
      hid: group.map(hidViewOf),
      // Without the configuration descriptor, only the ID can match.
      match: matchToken(first.vendorId, first.productId, null),
    });
  }
  return devices;
}

/** Lists every device on the bus, matched against the table; never throws. */
export async function listUsbDevices(backend?: UsbBackend): Promise<DeviceListing> {
  let b: UsbBackend;
  try {
    b = backend ?? (await loadUsbBackend());
  } catch (e) {
    return { devices: [], problems: [{ code: 'usb-module-unavailable', message: `USB discovery could not start: ${errorText(e)}` }] };
  }
  const problems = [...b.problems];
  let usbDevices: readonly UsbDeviceLike[] = [];
  if (b.getDeviceList) {
    try {
      usbDevices = b.getDeviceList();
    } catch (e) {
      problems.push({ code: 'usb-enumeration-failed', message: `libusb could not list devices: ${errorText(e)}` });
    }
  }
  let hidDevices: readonly HidDeviceLike[] = [];
  if (b.hidDevices) {
    try {
      hidDevices = await b.hidDevices();
    } catch (e) {
      problems.push({ code: 'hid-enumeration-failed', message: `hidapi could not list HID devices: ${errorText(e)}` });
    }
  }
  if (usbDevices.length === 0 && hidDevices.length === 0) {
    let present: boolean | null = null;
    try {
      present = b.busPresent();
    } catch {
      // unknown
    }
    if (present === false) problems.push({ code: 'no-usb-bus', message: 'this machine has no USB bus (/sys/bus/usb is absent or empty: a container or a VM without USB passthrough?)' });
  }
  return { devices: mergeViews(usbDevices, hidDevices), problems };
}

/** The devices the table knows: what `kura devices` shows. */
export const tokensOf = (devices: readonly PluggedDevice[]): PluggedDevice[] => devices.filter((d) => d.match !== null);

/** Devices the table does not know, hubs aside. */
export const unknownDevicesOf = (devices: readonly PluggedDevice[]): PluggedDevice[] =>
  devices.filter((d) => d.match === null && d.usb?.deviceClass !== HUB_DEVICE_CLASS);

/** Why a listing shows no token, in one sentence for an operator. */
export function whyNoTokens(listing: DeviceListing): string {
  const order = ['usb-module-unavailable', 'libusb-init-failed', 'no-usb-bus', 'usb-enumeration-failed'] as const;
  for (const code of order) {
    const p = listing.problems.find((x) => x.code === code);
    if (p) return p.message;
  }
  const others = unknownDevicesOf(listing.devices).length;
  return others === 0 ? 'no USB device is plugged in besides hubs' : `none of the ${others} USB device${others === 1 ? '' : 's'} plugged in is a known token (kura devices --all lists them)`;
}

// The two native views of the USB bus, loaded lazily and typed as far as Kura uses them: `usb`
// (libusb: every device, its IDs, bus position and interface classes, and hot-plug events) and
// `node-hid` (hidapi: HID interfaces only, with their product, manufacturer and serial strings).
//
// Why both: most HSMs are not HID devices (a YubiHSM 2 has one vendor-class interface, a Nitrokey
// HSM a CCID one), so node-hid alone would miss them; libusb alone cannot read string descriptors
// without opening the device, which needs write access to /dev/bus/usb and may disturb a session
// pcscd or yubihsm-connector holds. Nothing here opens a device.
//
// Why lazily: the modules are native addons. On a machine without libusb or udev, or built for
// another ABI, importing them fails; discovery must then report why it sees nothing rather than
// take the process down, so each is imported on first use with `import()` and its failure becomes
// a DiscoveryProblem. (`usb` also prints "Failed to initialize libusb." itself when libusb_init fails;
// INIT_ERROR tells us so.)
import fs from 'node:fs';

/** The fields of usb's InterfaceDescriptor that discovery reads. */
export interface UsbInterfaceDescriptorLike {
  bInterfaceClass: number;
}

/** The fields of usb's ConfigDescriptor that discovery reads: interfaces[i][altSetting]. */
export interface UsbConfigDescriptorLike {
  interfaces: readonly (readonly UsbInterfaceDescriptorLike[])[];
}

/** The parts of usb's Device that discovery reads (none of them opens the device). */
export interface UsbDeviceLike {
  busNumber: number;
  deviceAddress: number;
  /** Port numbers from the root hub, or undefined where the platform does not say. */
  portNumbers?: readonly number[] | undefined;
  deviceDescriptor: { idVendor: number; idProduct: number; bDeviceClass: number };
  /**
   * The active configuration's descriptor. A getter in `usb` (libusb_get_active_config_descriptor,
   * read from sysfs on Linux without opening the device); it throws for a device that is gone or
   * unreadable, so it is read inside a try.
   */
  readonly configDescriptor?: UsbConfigDescriptorLike | undefined;
}

/** node-hid's Device, as `devices()` reports it. */
export interface HidDeviceLike {
  vendorId: number;
  productId: number;
  path?: string | undefined;
  serialNumber?: string | undefined;
  manufacturer?: string | undefined;
  product?: string | undefined;
  release?: number | undefined;
  interface?: number | undefined;
  usagePage?: number | undefined;
  usage?: number | undefined;
}

export type HotplugEvent = 'attach' | 'detach';
export type HotplugListener = (device: UsbDeviceLike) => void;

/** usb's `usb` object: an EventEmitter whose first attach/detach listener starts libusb hot-plug. */
export interface HotplugSource {
  on(event: HotplugEvent, listener: HotplugListener): unknown;
  removeListener(event: HotplugEvent, listener: HotplugListener): unknown;
  /** Lets the process exit while listeners are registered (usb ≥ 2.5). */
  unrefHotplugEvents?: () => void;
}

export type DiscoveryProblemCode =
  | 'usb-module-unavailable'
  | 'hid-module-unavailable'
  | 'libusb-init-failed'
  | 'usb-enumeration-failed'
  | 'hid-enumeration-failed'
  | 'no-usb-bus'
  | 'hotplug-unavailable';

/** Why discovery sees less than the whole bus; JSON-safe. */
export interface DiscoveryProblem {
  code: DiscoveryProblemCode;
  message: string;
}

/** The native views discovery works from; tests build one from recorded devices. */
export interface UsbBackend {
  /** libusb's device list; null when `usb` is unavailable (see problems). */
  getDeviceList: (() => readonly UsbDeviceLike[]) | null;
  /** hidapi's HID interfaces; null when `node-hid` is unavailable (see problems). */
  hidDevices: (() => Promise<readonly HidDeviceLike[]>) | null;
  /** libusb hot-plug; null when `usb` is unavailable. */
  hotplug: HotplugSource | null;
  /** Whether the machine has a USB bus at all; null where that cannot be told (not Linux). */
  busPresent: () => boolean | null;
  /** Why a view is missing. */
  problems: readonly DiscoveryProblem[];
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null;
const isFunction = (x: unknown): x is (...args: never[]) => unknown => typeof x === 'function';

/** A CommonJS addon imported from ESM: its exports are the namespace's `default`. */
const exportsOf = (ns: unknown): unknown => (isObject(ns) && 'default' in ns ? ns.default : ns);

const errorText = (e: unknown): string => (e instanceof Error ? e.message : String(e)).split('\n')[0]!;

interface UsbModuleLike {
  getDeviceList: () => readonly UsbDeviceLike[];
  usb: HotplugSource & { INIT_ERROR?: number };
}

function isUsbModule(m: unknown): m is UsbModuleLike {
  return isObject(m) && isFunction(m.getDeviceList) && isObject(m.usb) && isFunction(m.usb.on) && isFunction(m.usb.removeListener);
}

interface HidModuleLike {
  devices: () => HidDeviceLike[];
  devicesAsync?: () => Promise<HidDeviceLike[]>;
}

function isHidModule(m: unknown): m is HidModuleLike {
  return isObject(m) && isFunction(m.devices) && (m.devicesAsync === undefined || isFunction(m.devicesAsync));
}

/**
 * Linux lists USB devices under /sys/bus/usb/devices (root hubs included, so a machine with a bus
 * never has an empty one). Its absence means no USB bus: a container or a VM without passthrough.
 */
export function linuxBusPresent(root = '/sys/bus/usb/devices'): boolean | null {
  if (process.platform !== 'linux') return null;
  try {
    return fs.readdirSync(root).length > 0;
  } catch {
    return false;
  }
}

/** Imports `usb` and `node-hid` now; never throws: what fails is in `problems`. */
export async function loadUsbBackend(): Promise<UsbBackend> {
  const problems: DiscoveryProblem[] = [];
  let usbModule: UsbModuleLike | null = null;
  try {
    const m = exportsOf(await import('usb'));
    if (!isUsbModule(m)) throw new Error('it does not export getDeviceList and usb.on');
    if (m.usb.INIT_ERROR) problems.push({ code: 'libusb-init-failed', message: `libusb could not be initialised (error ${m.usb.INIT_ERROR}): no USB device list and no hot-plug` });
    else usbModule = m;
  } catch (e) {
    problems.push({ code: 'usb-module-unavailable', message: `the usb module (libusb) could not be loaded: ${errorText(e)}` });
  }
  let hidModule: HidModuleLike | null = null;
  try {
    const m = exportsOf(await import('node-hid'));
    if (!isHidModule(m)) throw new Error('it does not export devices()');
    hidModule = m;
  } catch (e) {
    problems.push({ code: 'hid-module-unavailable', message: `the node-hid module (hidapi) could not be loaded: ${errorText(e)}` });
  }
  const usb = usbModule;
  const hid = hidModule;
  return {
    getDeviceList: usb ? () => usb.getDeviceList() : null,
    // devicesAsync enumerates on hidapi's thread; devices() would block the event loop meanwhile.
    hidDevices: hid ? () => (hid.devicesAsync ? hid.devicesAsync() : Promise.resolve(hid.devices())) : null,
    hotplug: usb ? usb.usb : null,
    busPresent: () => linuxBusPresent(),
    problems,
  };
}

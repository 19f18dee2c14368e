// A recorded USB bus, in the shapes `usb` (getDeviceList: Device objects, of which discovery reads
// deviceDescriptor, busNumber, deviceAddress, portNumbers and the configDescriptor getter) and
// `node-hid` (devices()) report them, so that merging and matching are tested without hardware.
// The IDs are the tokens' real ones (sources in main/devices/usb/known-tokens.ts); interface
// classes are each device's as lsusb -v shows them: a YubiHSM 2 has one vendor-specific (0xFF)
// interface, a Nitrokey HSM 2 and a SafeNet eToken 5110 one CCID (0x0B) interface, a YubiKey 5 in
// its default mode OTP (HID keyboard), FIDO (HID) and CCID, a mouse one HID interface.
import { EventEmitter } from 'node:events';
import type { HidDeviceLike, HotplugEvent, HotplugListener, HotplugSource, UsbBackend, UsbDeviceLike } from '../../../main/devices/usb/backend.js';

const HID = 0x03;
const CCID = 0x0b;
const VENDOR = 0xff;

/** A usb Device as getDeviceList returns it; `interfaces` of null makes the descriptor getter throw. */
export function recordedUsb(o: { vid: number; pid: number; bus: number; address: number; ports: number[]; deviceClass?: number; interfaces: number[] | null }): UsbDeviceLike {
  const device = {
    busNumber: o.bus,
    deviceAddress: o.address,
    portNumbers: o.ports,
    deviceDescriptor: { idVendor: o.vid, idProduct: o.pid, bDeviceClass: o.deviceClass ?? 0 },
  };
  Object.defineProperty(device, 'configDescriptor', {
    enumerable: true,
    get() {
      if (o.interfaces === null) throw new Error('LIBUSB_ERROR_NOT_FOUND');
      return { interfaces: o.interfaces.map((c) => [{ bInterfaceClass: c }]) };
    },
  });
  return device as UsbDeviceLike;
}

export const YUBIHSM2 = recordedUsb({ vid: 0x1050, pid: 0x0030, bus: 1, address: 7, ports: [2], interfaces: [VENDOR] });
export const NITROKEY_HSM2 = recordedUsb({ vid: 0x20a0, pid: 0x4230, bus: 1, address: 8, ports: [3], interfaces: [CCID] });
export const YUBIKEY5 = recordedUsb({ vid: 0x1050, pid: 0x0407, bus: 1, address: 9, ports: [4, 1], interfaces: [HID, HID, CCID] });
export const ETOKEN = recordedUsb({ vid: 0x0529, pid: 0x0620, bus: 2, address: 3, ports: [1], interfaces: [CCID] });
export const MOUSE = recordedUsb({ vid: 0x046d, pid: 0xc077, bus: 2, address: 5, ports: [3], interfaces: [HID] });
/** An SCM SCR 3310 reader: not in Kura's table, a CCID reader by its interface class. */
export const CCID_READER = recordedUsb({ vid: 0x04e6, pid: 0x5116, bus: 2, address: 4, ports: [2], interfaces: [CCID] });
export const ROOT_HUB = recordedUsb({ vid: 0x1d6b, pid: 0x0002, bus: 1, address: 1, ports: [], deviceClass: 0x09, interfaces: [0x09] });
/** A device whose configuration descriptor cannot be read (unplugged mid-listing). */
export const UNREADABLE = recordedUsb({ vid: 0x0bda, pid: 0x8153, bus: 2, address: 6, ports: [4], interfaces: null });

export const RECORDED_USB: readonly UsbDeviceLike[] = [ROOT_HUB, YUBIHSM2, NITROKEY_HSM2, YUBIKEY5, ETOKEN, MOUSE, CCID_READER, UNREADABLE];

/** node-hid sees only the HID interfaces: the YubiKey's two and the mouse's one. */
export const RECORDED_HID: readonly HidDeviceLike[] = [
  { vendorId: 0x1050, productId: 0x0407, path: '/dev/hidraw0', serialNumber: '', manufacturer: 'Yubico', product: 'YubiKey OTP+FIDO+CCID', release: 0x0543, interface: 0, usagePage: 1, usage: 6 },
  { vendorId: 0x1050, productId: 0x0407, path: '/dev/hidraw1', serialNumber: '', manufacturer: 'Yubico', product: 'YubiKey OTP+FIDO+CCID', release: 0x0543, interface: 1, usagePage: 0xf1d0, usage: 1 },
  { vendorId: 0x046d, productId: 0xc077, path: '/dev/hidraw2', serialNumber: '', manufacturer: 'Logitech', product: 'USB Optical Mouse', release: 0x7200, interface: 0, usagePage: 1, usage: 2 },
];

/** usb's hot-plug emitter, driven by the test; counts unref calls. */
export class FakeHotplug implements HotplugSource {
  readonly emitter = new EventEmitter();
  unrefs = 0;
  on(event: HotplugEvent, listener: HotplugListener): this {
    this.emitter.on(event, listener);
    return this;
  }
  removeListener(event: HotplugEvent, listener: HotplugListener): this {
    this.emitter.removeListener(event, listener);
    return this;
  }
  unrefHotplugEvents(): void {
    this.unrefs++;
  }
  listeners(): number {
    return this.emitter.listenerCount('attach') + this.emitter.listenerCount('detach');
  }
  emit(event: HotplugEvent, device: UsbDeviceLike): void {
    this.emitter.emit(event, device);
  }
}

/** A backend over a bus the test can change (plug and unplug by editing `usb` and `hid`). */
export function recordedBackend(bus: { usb: UsbDeviceLike[]; hid: HidDeviceLike[] } = { usb: [...RECORDED_USB], hid: [...RECORDED_HID] }, hotplug: HotplugSource | null = new FakeHotplug()): UsbBackend & { bus: typeof bus } {
  return {
    bus,
    getDeviceList: () => bus.usb,
    hidDevices: async () => bus.hid,
    hotplug,
    busPresent: () => true,
    problems: [],
  };
}

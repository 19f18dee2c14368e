// Listing and merging: a recorded bus (usb's and node-hid's views) is merged per device and matched
// against the table; failures of either view become problems, never exceptions; and on this
// machine, with the real modules and no USB bus, discovery lists nothing and says why.
import { describe, expect, it } from 'vitest';
import type { UsbBackend } from '../../../main/devices/usb/backend.js';
import { linuxBusPresent, loadUsbBackend } from '../../../main/devices/usb/backend.js';
import { listUsbDevices, mergeViews, tokensOf, unknownDevicesOf, whyNoTokens } from '../../../main/devices/usb/discovery.js';
import { devicesSummary, summarizeListing } from '../../../main/devices/usb/summary.js';
import { CCID_READER, ETOKEN, MOUSE, NITROKEY_HSM2, RECORDED_HID, RECORDED_USB, recordedBackend, recordedUsb, UNREADABLE, YUBIHSM2, YUBIKEY5 } from './recorded-devices.js';

const byVidPid = <T extends { vidPid: string }>(devices: readonly T[], id: string): T | undefined => devices.find((d) => d.vidPid === id);

describe('merging the recorded bus', () => {
  const devices = mergeViews(RECORDED_USB, RECORDED_HID);

  it('annotates each device with the table\'s match, or unknown', () => {
    const names = Object.fromEntries(devices.map((d) => [d.vidPid, d.match?.name ?? null]));
    expect(names).toEqual({
      '1d6b:0002': null,
      '1050:0030': 'YubiHSM 2',
      '20a0:4230': 'Nitrokey HSM 2',
      '1050:0407': 'YubiKey 4/5 (PIV)',
      '0529:0620': 'SafeNet eToken 5100/5110',
      '046d:c077': null,
      '04e6:5116': 'CCID smart card reader',
      '0bda:8153': null,
    });
    expect(byVidPid(devices, '04e6:5116')!.match!.matchedBy).toBe('interface-class');
    expect(tokensOf(devices).map((d) => d.vidPid)).toEqual(['1050:0030', '20a0:4230', '1050:0407', '0529:0620', '04e6:5116']);
  });

  it('keeps libusb\'s position and interface classes, and names devices as sysfs does', () => {
    const hsm = byVidPid(devices, '1050:0030')!;
    expect(hsm.id).toBe('usb:1-2');
    expect(hsm.usb).toEqual({ busNumber: 1, deviceAddress: 7, portPath: '2', deviceClass: 0, interfaceClasses: [0xff] });
    expect(hsm.hid).toEqual([]);
    expect(byVidPid(devices, '1050:0407')!.id).toBe('usb:1-4.1');
  });

  it('joins node-hid\'s strings to the USB device with the same vendor:product', () => {
    const yk = byVidPid(devices, '1050:0407')!;
    expect(yk.product).toBe('YubiKey OTP+FIDO+CCID');
    expect(yk.manufacturer).toBe('Yubico');
    expect(yk.serialNumber).toBeNull();
    expect(yk.hid.map((h) => h.path)).toEqual(['/dev/hidraw0', '/dev/hidraw1']);
    expect(yk.usb!.interfaceClasses).toEqual([0x03, 0x0b]);
    expect(byVidPid(devices, '046d:c077')!.product).toBe('USB Optical Mouse');
  });

  it('survives a device whose configuration descriptor cannot be read', () => {
    const d = byVidPid(devices, '0bda:8153')!;
    expect(d.usb!.interfaceClasses).toBeNull();
    expect(d.match).toBeNull();
  });

  it('leaves hubs out of the unknown devices', () => {
    expect(unknownDevicesOf(devices).map((d) => d.vidPid)).toEqual(['046d:c077', '0bda:8153']);
  });

  it('with two identical tokens, joins HID interfaces by a libusb-style path, and otherwise to neither', () => {
    const a = recordedUsb({ vid: 0x1050, pid: 0x0407, bus: 3, address: 2, ports: [1], interfaces: [3, 11] });
    const b = recordedUsb({ vid: 0x1050, pid: 0x0407, bus: 3, address: 3, ports: [2], interfaces: [3, 11] });
    const hid = (path: string, serialNumber: string) => ({ vendorId: 0x1050, productId: 0x0407, path, serialNumber, product: 'YubiKey', interface: 0 });
    const byPath = mergeViews([a, b], [hid('3-2:1.0', 'B'), hid('3-1:1.0', 'A')]);
    expect(byPath.map((d) => [d.id, d.serialNumber])).toEqual([
      ['usb:3-1', 'A'],
      ['usb:3-2', 'B'],
    ]);
    const hidraw = mergeViews([a, b], [hid('/dev/hidraw0', 'A'), hid('/dev/hidraw1', 'B')]);
    expect(hidraw.map((d) => [d.id, d.serialNumber, d.hid.length])).toEqual([
      ['usb:3-1', null, 0],
      ['usb:3-2', null, 0],
    ]);
  });

  it('lists HID-only devices when libusb saw nothing, matched by ID alone', () => {
    const only = mergeViews([], RECORDED_HID);
    expect(only.map((d) => [d.id, d.vidPid, d.usb, d.match?.name ?? null, d.hid.length])).toEqual([
      ['hid:/dev/hidraw0', '1050:0407', null, 'YubiKey 4/5 (PIV)', 2],
      ['hid:/dev/hidraw2', '046d:c077', null, null, 1],
    ]);
  });
});

describe('listing', () => {
  it('lists a recorded bus through an injected backend', async () => {
    const listing = await listUsbDevices(recordedBackend());
    expect(listing.problems).toEqual([]);
    expect(tokensOf(listing.devices)).toHaveLength(5);
  });

  it('turns a failing view into a problem and keeps the other', async () => {
    const backend: UsbBackend = {
      ...recordedBackend(),
      getDeviceList: () => {
        throw new Error('LIBUSB_ERROR_ACCESS');
      },
    };
    const listing = await listUsbDevices(backend);
    expect(listing.problems.map((p) => p.code)).toEqual(['usb-enumeration-failed']);
    expect(listing.devices.map((d) => d.vidPid)).toEqual(['1050:0407', '046d:c077']);
    const hidFails: UsbBackend = { ...recordedBackend(), hidDevices: () => Promise.reject(new Error('udev gone')) };
    const l2 = await listUsbDevices(hidFails);
    expect(l2.problems).toEqual([{ code: 'hid-enumeration-failed', message: 'hidapi could not list HID devices: udev gone' }]);
    expect(tokensOf(l2.devices)).toHaveLength(5);
  });

  it('says why it sees nothing: no bus, or modules that could not be loaded', async () => {
    const noBus: UsbBackend = { getDeviceList: () => [], hidDevices: async () => [], hotplug: null, busPresent: () => false, problems: [] };
    const l1 = await listUsbDevices(noBus);
    expect(l1).toEqual({ devices: [], problems: [{ code: 'no-usb-bus', message: expect.stringMatching(/no USB bus/) }] });
    expect(whyNoTokens(l1)).toMatch(/^this machine has no USB bus/);

    const noModules: UsbBackend = {
      getDeviceList: null,
      hidDevices: null,
      hotplug: null,
      busPresent: () => null,
      problems: [
        { code: 'usb-module-unavailable', message: 'the usb module (libusb) could not be loaded: libusb-1.0.so.0: cannot open shared object file' },
        { code: 'hid-module-unavailable', message: 'the node-hid module (hidapi) could not be loaded: x' },
      ],
    };
    const l2 = await listUsbDevices(noModules);
    expect(l2.devices).toEqual([]);
    expect(whyNoTokens(l2)).toMatch(/^the usb module \(libusb\) could not be loaded/);

    const onlyMouse = await listUsbDevices(recordedBackend({ usb: [MOUSE], hid: [] }));
    expect(whyNoTokens(onlyMouse)).toBe('none of the 1 USB device plugged in is a known token (kura devices --all lists them)');
  });

  it('summarises for the console in JSON-safe values, with the reason when empty', async () => {
    const clock = { nowMs: () => Date.parse('2025-06-01T12:00:00Z') };
    const s = summarizeListing(await listUsbDevices(recordedBackend({ usb: [YUBIHSM2, NITROKEY_HSM2, YUBIKEY5, ETOKEN, CCID_READER, MOUSE, UNREADABLE], hid: [...RECORDED_HID] })), clock);
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(s.checkedAt).toBe('2025-06-01T12:00:00.000Z');
    expect(s.otherDevices).toBe(2);
    expect(s.emptyReason).toBeNull();
    expect(s.tokens[0]).toEqual({
      id: 'usb:1-2',
      name: 'YubiHSM 2',
      kind: 'hsm',
      known: true,
      vidPid: '1050:0030',
      vendorId: 0x1050,
      productId: 0x0030,
      product: null,
      manufacturer: null,
      serialNumber: null,
      busNumber: 1,
      deviceAddress: 7,
      port: '1-2',
      matchedBy: 'id',
      modules: [expect.objectContaining({ file: 'yubihsm_pkcs11.so', source: 'vendor' })],
      note: null,
    });
    const empty = await devicesSummary({ backend: recordedBackend({ usb: [], hid: [] }), clock });
    expect(empty.tokens).toEqual([]);
    expect(empty.emptyReason).toBe('no USB device is plugged in besides hubs');
  });
});

describe('this machine, with the real usb and node-hid modules', () => {
  it('loads both modules lazily without throwing', async () => {
    const backend = await loadUsbBackend();
    expect(backend.problems).toEqual([]);
    expect(backend.getDeviceList).not.toBeNull();
    expect(backend.hidDevices).not.toBeNull();
  });

  it('lists nothing when there is no USB bus, and says so; never throws', async () => {
    const listing = await listUsbDevices();
    const summary = await devicesSummary();
    expect(JSON.parse(JSON.stringify(summary))).toEqual(summary);
    if (linuxBusPresent() === false) {
      expect(listing.devices).toEqual([]);
      expect(listing.problems.map((p) => p.code)).toEqual(['no-usb-bus']);
      expect(summary.tokens).toEqual([]);
      expect(summary.emptyReason).toMatch(/no USB bus/);
    } else {
      // A machine with a bus lists at least its root hubs.
      expect(Array.isArray(listing.devices)).toBe(true);
    }
  });
});

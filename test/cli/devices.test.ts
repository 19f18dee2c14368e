// `kura devices`: on this machine (real usb and node-hid, no USB bus) it prints [] with --json and
// the empty message without, exit 0 and no appliance needed; on a recorded bus it lists the tokens
// with their PKCS#11 modules, --all adds the rest, and --watch prints attach/detach lines until
// stopped. Run in-process through the CLI's own entry point, with stdout and stderr captured.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseOptions, type Invocation } from '../../main/cli/command.js';
import { devicesCommand } from '../../main/cli/commands/devices.js';
import { COMMANDS, main } from '../../main/cli/main.js';
import { linuxBusPresent } from '../../main/devices/usb/backend.js';
import type { UsbBackend } from '../../main/devices/usb/backend.js';
import { ETOKEN, FakeHotplug, recordedBackend } from '../devices/usb/recorded-devices.js';

let out = '';
let err = '';
beforeEach(() => {
  out = '';
  err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((out += String(chunk)), true));
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((err += String(chunk)), true));
});
afterEach(() => vi.restoreAllMocks());

/** Runs the command with an injected backend, as main() would after parsing `args`. */
async function runWith(args: string[], deps: Parameters<typeof devicesCommand>[0]): Promise<number> {
  const spec = devicesCommand(deps);
  const parsed = parseOptions('devices', spec, args);
  const inv: Invocation = { ...parsed, json: args.includes('--json'), commands: COMMANDS };
  return spec.run!(inv);
}

describe('kura devices on this machine', () => {
  it('--json prints valid JSON, [] when nothing is plugged, and exits 0', async () => {
    expect(await main(['devices', '--json'])).toBe(0);
    const list: unknown = JSON.parse(out);
    expect(Array.isArray(list)).toBe(true);
    if (linuxBusPresent() === false) expect(list).toEqual([]);
    expect(err).toBe('');
  });

  it('prints the empty message with the reason, and exits 0', async () => {
    expect(await main(['devices'])).toBe(0);
    if (linuxBusPresent() === false) {
      expect(out).toMatch(/^No USB tokens found: this machine has no USB bus \(.+\)\.\n$/);
    }
  });

  it('is in the command table, with --help listing its options', async () => {
    expect(COMMANDS.map((c) => c.name)).toContain('devices');
    expect(await main(['devices', '--help'])).toBe(0);
    expect(out).toMatch(/^Usage: kura devices \[options\]/);
    for (const o of ['--all', '--watch', '--json', '--help']) expect(out).toContain(o);
    out = '';
    expect(await main(['devices', '--bogus'])).toBe(2);
    expect(err).toMatch(/kura devices: unknown option --bogus/);
  });
});

describe('kura devices on a recorded bus', () => {
  it('lists each token with its name, vendor:product and PKCS#11 module', async () => {
    expect(await runWith([], { load: async () => recordedBackend() })).toBe(0);
    expect(out).toMatch(/^YubiHSM 2 {2}1050:0030 {2}USB 1-2\n {2}PKCS#11 module: \/usr\/lib\/.+\/pkcs11\/yubihsm_pkcs11\.so \(from yubihsm2-sdk \(Yubico\)\)\n {2}needs: .+connector/m);
    expect(out).toMatch(/^Nitrokey HSM 2 {2}20a0:4230 {2}USB 1-3\n {2}PKCS#11 module: .+opensc-pkcs11\.so \(apt-get install opensc-pkcs11\)/m);
    expect(out).toMatch(/^YubiKey 4\/5 \(PIV\) "YubiKey OTP\+FIDO\+CCID" {2}1050:0407 {2}USB 1-4\.1\n {2}PKCS#11 module: .+libykcs11\.so \(apt-get install ykcs11\)/m);
    expect(out).toMatch(/^SafeNet eToken 5100\/5110 {2}0529:0620 {2}USB 2-1\n {2}PKCS#11 module: \/usr\/lib\/libeTPkcs11\.so/m);
    expect(out).toMatch(/^CCID smart card reader {2}04e6:5116 {2}USB 2-2\n/m);
    expect(out).not.toMatch(/046d:c077/);
  });

  it('--json prints an array of the tokens; --all adds the other devices', async () => {
    expect(await runWith(['--json'], { load: async () => recordedBackend() })).toBe(0);
    const tokens = JSON.parse(out) as { vidPid: string; known: boolean; modules: { file: string }[] }[];
    expect(tokens.map((t) => t.vidPid)).toEqual(['1050:0030', '20a0:4230', '1050:0407', '0529:0620', '04e6:5116']);
    expect(tokens[0]!.modules[0]!.file).toBe('yubihsm_pkcs11.so');
    out = '';
    expect(await runWith(['--json', '--all'], { load: async () => recordedBackend() })).toBe(0);
    const all = JSON.parse(out) as { vidPid: string; known: boolean }[];
    expect(all.filter((d) => !d.known).map((d) => d.vidPid)).toEqual(['1d6b:0002', '046d:c077', '0bda:8153']);
    out = '';
    expect(await runWith(['--all'], { load: async () => recordedBackend() })).toBe(0);
    expect(out).toMatch(/^Other USB devices:\n(.*\n)* {2}046d:c077 {2}USB 2-3 {2}USB Optical Mouse \(Logitech\)$/m);
  });

  it('--watch prints attach and detach lines until stopped', async () => {
    const hotplug = new FakeHotplug();
    const backend = recordedBackend({ usb: [], hid: [] }, hotplug);
    const code = await runWith(['--watch'], {
      load: async () => backend,
      settleMs: 0,
      untilStopped: async () => {
        backend.bus.usb.push(ETOKEN);
        hotplug.emit('attach', ETOKEN);
        await new Promise((r) => setTimeout(r, 20));
        backend.bus.usb.length = 0;
        hotplug.emit('detach', ETOKEN);
        await new Promise((r) => setTimeout(r, 20));
      },
    });
    expect(code).toBe(0);
    expect(out.split('\n')).toEqual([
      'No USB tokens found: no USB device is plugged in besides hubs.',
      'Watching for USB tokens; Ctrl-C to stop.',
      'attached  SafeNet eToken 5100/5110  0529:0620  USB 2-1  PKCS#11 module: libeTPkcs11.so',
      'detached  SafeNet eToken 5100/5110  0529:0620  USB 2-1  PKCS#11 module: libeTPkcs11.so',
      '',
    ]);
    expect(hotplug.listeners()).toBe(0);
  });

  it('--watch --json prints one JSON object per line', async () => {
    const hotplug = new FakeHotplug();
    const backend = recordedBackend({ usb: [], hid: [] }, hotplug);
    await runWith(['--watch', '--json'], {
      load: async () => backend,
      settleMs: 0,
      untilStopped: async () => {
        hotplug.emit('attach', ETOKEN);
        await new Promise((r) => setTimeout(r, 20));
      },
    });
    const lines = out.trim().split('\n').map((l) => JSON.parse(l) as { type: string });
    expect(lines.map((l) => l.type)).toEqual(['list', 'attach']);
    expect(lines[1]).toMatchObject({ device: { name: 'SafeNet eToken 5100/5110', vidPid: '0529:0620' } });
  });

  it('--watch fails with the reason when hot-plug is unavailable', async () => {
    const noUsb: UsbBackend = { getDeviceList: null, hidDevices: async () => [], hotplug: null, busPresent: () => null, problems: [{ code: 'usb-module-unavailable', message: 'the usb module (libusb) could not be loaded: x' }] };
    await expect(runWith(['--watch'], { load: async () => noUsb, untilStopped: async () => undefined })).rejects.toThrow(/cannot watch for USB tokens: the usb module \(libusb\) could not be loaded/);
    expect(out).toMatch(/^No USB tokens found: the usb module \(libusb\) could not be loaded: x\.$/m);
  });
});

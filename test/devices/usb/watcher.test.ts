// Hot-plug: the watcher starts nothing until subscribed, emits attach (listed again, HID strings
// merged) and detach (from the last listing) events, removes its listeners on the last unsubscribe,
// and never keeps the process alive: proven with the real usb module in a child process that must
// exit by itself, subscribed or not.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { UsbDeviceWatcher, type DeviceEvent } from '../../../main/devices/usb/watcher.js';
import { ROOT } from '../../support/kura-process.js';
import { ETOKEN, FakeHotplug, recordedBackend, RECORDED_HID, RECORDED_USB, YUBIKEY5 } from './recorded-devices.js';

/** A backend whose bus and hot-plug source the test drives. */
function rig() {
  const hotplug = new FakeHotplug();
  const backend = recordedBackend({ usb: RECORDED_USB.filter((d) => d !== ETOKEN && d !== YUBIKEY5), hid: RECORDED_HID.filter((h) => h.vendorId !== 0x1050) }, hotplug);
  let loads = 0;
  const watcher = new UsbDeviceWatcher({
    load: async () => {
      loads++;
      return backend;
    },
    settleMs: 0,
  });
  const events: DeviceEvent[] = [];
  /** Resolves after the watcher's queue has handled what was emitted. */
  const settle = () => new Promise((r) => setTimeout(r, 20));
  return { hotplug, backend, watcher, events, settle, loads: () => loads };
}

describe('UsbDeviceWatcher', () => {
  it('loads nothing and listens to nothing until the first subscriber', async () => {
    const { watcher, hotplug, loads } = rig();
    expect(await watcher.ready()).toEqual({ watching: false, problems: [] });
    expect(loads()).toBe(0);
    expect(hotplug.listeners()).toBe(0);
  });

  it('emits attach with the merged, matched device, and detach from the previous listing', async () => {
    const { watcher, hotplug, backend, events, settle } = rig();
    const off = watcher.subscribe((e) => events.push(e));
    expect(await watcher.ready()).toEqual({ watching: true, problems: [] });
    expect(hotplug.listeners()).toBe(2);
    expect(hotplug.unrefs).toBe(1);

    backend.bus.usb.push(YUBIKEY5);
    backend.bus.hid.push(...RECORDED_HID.filter((h) => h.vendorId === 0x1050));
    hotplug.emit('attach', YUBIKEY5);
    await settle();
    expect(events).toHaveLength(1);
    expect(events[0]!.type).toBe('attach');
    expect(events[0]!.device).toMatchObject({ id: 'usb:1-4.1', vidPid: '1050:0407', product: 'YubiKey OTP+FIDO+CCID', match: { name: 'YubiKey 4/5 (PIV)' } });

    backend.bus.usb.splice(backend.bus.usb.indexOf(YUBIKEY5), 1);
    backend.bus.hid = backend.bus.hid.filter((h) => h.vendorId !== 0x1050);
    hotplug.emit('detach', YUBIKEY5);
    await settle();
    expect(events[1]!.type).toBe('detach');
    // Known from the listing made at attach time: the HID strings are still there.
    expect(events[1]!.device).toMatchObject({ id: 'usb:1-4.1', product: 'YubiKey OTP+FIDO+CCID' });
    expect(watcher.snapshot().some((d) => d.vidPid === '1050:0407')).toBe(false);

    off();
    expect(hotplug.listeners()).toBe(0);
    expect(watcher.subscriberCount).toBe(0);
  });

  it('describes a device it never listed from what libusb reports', async () => {
    const { watcher, hotplug, events, settle } = rig();
    watcher.subscribe((e) => events.push(e));
    await watcher.ready();
    hotplug.emit('detach', ETOKEN);
    await settle();
    expect(events.map((e) => [e.type, e.device.match?.name])).toEqual([['detach', 'SafeNet eToken 5100/5110']]);
    watcher.close();
    expect(hotplug.listeners()).toBe(0);
  });

  it('keeps listening until the last subscriber leaves, and one failing subscriber does not silence the others', async () => {
    const { watcher, hotplug, events, settle } = rig();
    const offA = watcher.subscribe(() => {
      throw new Error('subscriber bug');
    });
    const offB = watcher.subscribe((e) => events.push(e));
    await watcher.ready();
    offA();
    expect(hotplug.listeners()).toBe(2);
    hotplug.emit('attach', ETOKEN);
    await settle();
    expect(events).toHaveLength(1);
    offB();
    expect(hotplug.listeners()).toBe(0);
    hotplug.emit('attach', ETOKEN);
    await settle();
    expect(events).toHaveLength(1);
  });

  it('registers nothing when unsubscribed while still loading, and can start again', async () => {
    const { watcher, hotplug } = rig();
    const off = watcher.subscribe(() => undefined);
    const first = watcher.ready();
    off();
    expect(await first).toEqual({ watching: false, problems: [] });
    expect(hotplug.listeners()).toBe(0);
    const off2 = watcher.subscribe(() => undefined);
    expect((await watcher.ready()).watching).toBe(true);
    expect(hotplug.listeners()).toBe(2);
    off2();
    expect(hotplug.listeners()).toBe(0);
  });

  it('says why it cannot watch when libusb is unavailable', async () => {
    const watcher = new UsbDeviceWatcher({
      load: async () => ({ getDeviceList: null, hidDevices: null, hotplug: null, busPresent: () => null, problems: [{ code: 'usb-module-unavailable', message: 'no libusb' }] }),
    });
    const off = watcher.subscribe(() => undefined);
    const state = await watcher.ready();
    expect(state.watching).toBe(false);
    expect(state.problems.map((p) => p.code)).toEqual(['usb-module-unavailable', 'hotplug-unavailable']);
    off();
  });
});

describe('UsbDeviceWatcher with the real usb module', () => {
  const require = createRequire(import.meta.url);
  const usb = (require('usb') as { usb: { listenerCount(e: string): number } }).usb;
  const count = () => usb.listenerCount('attach') + usb.listenerCount('detach');

  it('puts its listeners on usb while subscribed and takes them all off after', async () => {
    const before = count();
    const watcher = new UsbDeviceWatcher();
    const off = watcher.subscribe(() => undefined);
    const state = await watcher.ready();
    expect(state.watching).toBe(true);
    expect(count()).toBe(before + 2);
    off();
    expect(count()).toBe(before);
  });

  // The watcher's sources, compiled as they are (no type check) into a directory whose node_modules is
  // the repository's, so that a plain node child can run them against the real native modules.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-watcher-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const build = () => {
    for (const rel of ['main/devices/usb/backend.ts', 'main/devices/usb/discovery.ts', 'main/devices/usb/known-tokens.ts', 'main/devices/usb/watcher.ts']) {
      const out = ts.transpileModule(fs.readFileSync(path.join(ROOT, rel), 'utf8'), { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true } });
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel.replace(/\.ts$/, '.js')), out.outputText);
    }
    fs.writeFileSync(path.join(dir, 'package.json'), '{"type":"module"}');
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    fs.writeFileSync(
      path.join(dir, 'child.js'),
      `import { createRequire } from 'node:module';
import { UsbDeviceWatcher } from './main/devices/usb/watcher.js';
const usb = createRequire(import.meta.url)('usb').usb;
const count = () => usb.listenerCount('attach') + usb.listenerCount('detach');
const watcher = new UsbDeviceWatcher();
const off = watcher.subscribe(() => {});
const state = await watcher.ready();
const during = count();
if (process.argv[2] === 'unsubscribe') off();
console.log(JSON.stringify({ watching: state.watching, during, after: count() }));
`,
    );
  };
  let built = false;
  const runChild = (mode: string) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string; ms: number }>((resolve) => {
      if (!built) {
        build();
        built = true;
      }
      const started = Date.now();
      const p = spawn(process.execPath, [path.join(dir, 'child.js'), mode], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      p.stdout.on('data', (d: Buffer) => (out += d.toString()));
      p.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const killer = setTimeout(() => p.kill('SIGKILL'), 15_000);
      p.on('exit', (code, signal) => {
        clearTimeout(killer);
        resolve({ code, signal, out, err, ms: Date.now() - started });
      });
    });

  it('lets a process exit by itself after unsubscribing', async () => {
    const r = await runChild('unsubscribe');
    expect(r.signal, r.err).toBeNull();
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ watching: true, during: 2, after: 0 });
  });

  it('does not hold a process open even while subscribed (hot-plug events are unref\'d)', async () => {
    const r = await runChild('stay');
    expect(r.signal, r.err).toBeNull();
    expect(r.code, r.err).toBe(0);
    expect(JSON.parse(r.out)).toEqual({ watching: true, during: 2, after: 2 });
  });
});

// `kura devices [--all] [--watch] [--json]`: lists the HSM tokens plugged into this machine's USB
// bus, with the PKCS#11 module each needs, and with --watch reports attach/detach until Ctrl-C.
// It reads the bus directly (main/devices/usb), so it works without a running appliance, and opens
// no device, so it does not disturb a session pcscd or yubihsm-connector holds.
// When nothing is found it says why (no USB bus in this container, libusb missing) and exits 0:
// an empty bus is an answer, not an error. Only --watch fails (exit 1) when hot-plug is unavailable.
import type { Clock } from '../../common/clock.js';
import {
  listUsbDevices,
  summarizeDevice,
  summarizeListing,
  UsbDeviceWatcher,
  type DeviceEvent,
  type DeviceSummary,
  type UsbBackend,
} from '../../devices/usb/index.js';
import { CliError, print, printJson, type CommandSpec, type Invocation } from '../command.js';

export interface DevicesDeps {
  /** Where the native USB views come from (tests pass recorded devices). */
  load?: () => Promise<UsbBackend>;
  /** Resolves when --watch should stop (default: SIGINT or SIGTERM). */
  untilStopped?: () => Promise<void>;
  clock?: Clock;
  /** Passed to the watcher: the wait after an attach before listing again. */
  settleMs?: number;
}

/** Waits for Ctrl-C or SIGTERM, holding the process open meanwhile (the watcher itself does not). */
function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    const keepAlive = setInterval(() => undefined, 1 << 30);
    const done = () => {
      clearInterval(keepAlive);
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}

const where = (d: DeviceSummary): string => (d.port !== null ? `USB ${d.port}` : d.busNumber !== null ? `USB bus ${d.busNumber} address ${d.deviceAddress}` : 'HID');

/** One token: a heading line, then where its PKCS#11 module is. */
export function tokenLines(d: DeviceSummary): string[] {
  const own = d.product && d.product !== d.name ? ` "${d.product}"` : '';
  const lines = [`${d.name}${own}  ${d.vidPid}  ${where(d)}${d.serialNumber ? `  serial ${d.serialNumber}` : ''}`];
  const [first, ...others] = d.modules;
  if (first) {
    lines.push(`  PKCS#11 module: ${first.path} (${first.source === 'debian' ? `apt-get install ${first.package}` : `from ${first.package}`})`);
    if (first.needs) lines.push(`  needs: ${first.needs}`);
    for (const m of others) lines.push(`  or: ${m.path} (${m.source === 'debian' ? `apt-get install ${m.package}` : `from ${m.package}`})`);
  }
  if (d.note) lines.push(`  note: ${d.note}`);
  return lines;
}

const otherLine = (d: DeviceSummary): string =>
  `  ${d.vidPid}  ${where(d)}${d.product ? `  ${d.product}` : ''}${d.manufacturer ? ` (${d.manufacturer})` : ''}`;

const eventLine = (e: DeviceEvent): string => {
  const d = summarizeDevice(e.device);
  const verb = e.type === 'attach' ? 'attached' : 'detached';
  const module = d.modules[0] ? `  PKCS#11 module: ${d.modules[0].file}` : '';
  return `${verb}  ${d.name}  ${d.vidPid}  ${where(d)}${module}`;
};

async function listOnce(inv: Invocation, deps: DevicesDeps): Promise<void> {
  const all = inv.values.all === true;
  const listing = await listUsbDevices(deps.load ? await deps.load() : undefined);
  const summary = summarizeListing(listing, deps.clock);
  const others = listing.devices.filter((d) => d.match === null).map(summarizeDevice);
  if (inv.json) {
    const list = all ? [...summary.tokens, ...others] : summary.tokens;
    if (inv.values.watch === true) printJson({ type: 'list', devices: list, emptyReason: summary.emptyReason });
    else printJson(list);
    return;
  }
  if (summary.tokens.length === 0) print(`No USB tokens found: ${summary.emptyReason}.`);
  else for (const t of summary.tokens) print(tokenLines(t).join('\n'));
  for (const p of summary.problems) {
    if (summary.emptyReason !== p.message) print(`(${p.message})`);
  }
  if (all && others.length > 0) print(['Other USB devices:', ...others.map(otherLine)].join('\n'));
}

async function watch(inv: Invocation, deps: DevicesDeps): Promise<number> {
  const all = inv.values.all === true;
  const watcher = new UsbDeviceWatcher({ ...(deps.load ? { load: deps.load } : {}), ...(deps.settleMs !== undefined ? { settleMs: deps.settleMs } : {}) });
  const unsubscribe = watcher.subscribe((e) => {
    if (!all && e.device.match === null) return;
    if (inv.json) printJson({ type: e.type, device: summarizeDevice(e.device) });
    else print(eventLine(e));
  });
  try {
    const state = await watcher.ready();
    if (!state.watching) {
      const why = state.problems.map((p) => p.message).join('; ') || 'hot-plug could not start';
      throw new CliError('HotplugUnavailable', `cannot watch for USB tokens: ${why}`);
    }
    if (!inv.json) print(`Watching for USB ${all ? 'devices' : 'tokens'}; Ctrl-C to stop.`);
    await (deps.untilStopped ?? untilSignal)();
    return 0;
  } finally {
    unsubscribe();
  }
}

export function devicesCommand(deps: DevicesDeps = {}): CommandSpec {
  return {
    name: 'devices',
    summary: 'list the HSM tokens plugged into USB, with the PKCS#11 module each needs',
    description: `Lists the HSM tokens plugged into this machine's USB bus (YubiHSM 2, Nitrokey HSM 2, SmartCard-HSM,
YubiKey, Nitrokey Pro/Start, SafeNet eToken, any CCID smart card reader): name, vendor:product ID, USB
port, and the PKCS#11 module to register the token with (its path and package). It reads the bus
itself, so no appliance needs to be running, and it opens no device. When none is found it says why
(no USB bus, libusb unavailable) and exits 0.
With --json: an array of devices ([] when none); with --watch --json: one JSON object per line,
{"type":"list",…} first, then {"type":"attach"|"detach","device":{…}}.`,
    options: [
      { name: 'all', help: 'also list USB devices that are not known tokens (to report an unrecognised token)' },
      { name: 'watch', short: 'w', help: 'after the list, print attach and detach events until Ctrl-C' },
      { name: 'json', help: 'print the devices as JSON' },
      { name: 'help', short: 'h', help: 'show this help and exit' },
    ],
    run: async (inv) => {
      await listOnce(inv, deps);
      return inv.values.watch === true ? watch(inv, deps) : 0;
    },
  };
}

export const devices: CommandSpec = devicesCommand();

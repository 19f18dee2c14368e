// Hot-plug: tells subscribers when a USB device is attached or detached, with the device as
// discovery describes it (matched against the known-token table, HID strings merged in).
//
// Nothing starts until the first subscriber: then `usb` is loaded and a listener is put on its
// attach/detach events, which is what makes libusb start its hot-plug handling (usb starts it on
// the first listener and stops it when the last is removed). The watcher unrefs those events, so a
// subscription never keeps the process alive by itself (a CLI that wants to wait keeps its own
// handle), and the last unsubscribe removes its listeners, which stops libusb's hot-plug again.
//
// On attach the bus is listed again (after a short settle, since udev creates the hidraw nodes a
// moment after libusb reports the device), so the event carries the merged view; on detach the
// device is taken from the previous listing, since a gone device can no longer be read.
import { loadUsbBackend, type DiscoveryProblem, type HotplugListener, type HotplugSource, type UsbBackend, type UsbDeviceLike } from './backend.js';
import { deviceOf, listUsbDevices, usbDeviceId, usbViewOf, type PluggedDevice } from './discovery.js';

export interface DeviceEvent {
  type: 'attach' | 'detach';
  device: PluggedDevice;
}

export type DeviceListener = (event: DeviceEvent) => void;

/** Whether hot-plug events are being watched, and if not why. */
export interface WatchState {
  watching: boolean;
  problems: DiscoveryProblem[];
}

export interface UsbDeviceWatcherOptions {
  /** Where the native views come from (tests pass recorded devices and a fake hot-plug source). */
  load?: () => Promise<UsbBackend>;
  /** Milliseconds to wait after an attach before listing the bus again (default 250). */
  settleMs?: number;
}

const NOT_WATCHING: WatchState = { watching: false, problems: [] };

export class UsbDeviceWatcher {
  private readonly listeners = new Set<DeviceListener>();
  private readonly load: () => Promise<UsbBackend>;
  private readonly settleMs: number;
  /** Bumped by every stop, so that a start still loading after a stop registers nothing. */
  private generation = 0;
  private started: Promise<WatchState> | null = null;
  private source: HotplugSource | null = null;
  private backend: UsbBackend | null = null;
  private known = new Map<string, PluggedDevice>();
  /** Events are handled one at a time, in the order libusb reported them. */
  private queue: Promise<void> = Promise.resolve();

  constructor(options: UsbDeviceWatcherOptions = {}) {
    this.load = options.load ?? loadUsbBackend;
    this.settleMs = options.settleMs ?? 250;
  }

  /** Adds a listener, starting hot-plug on the first one; returns the function that removes it. */
  subscribe(listener: DeviceListener): () => void {
    this.listeners.add(listener);
    if (!this.started) this.started = this.start(this.generation);
    return () => this.unsubscribe(listener);
  }

  /** Removes a listener; the last one out stops hot-plug. */
  unsubscribe(listener: DeviceListener): void {
    this.listeners.delete(listener);
    if (this.listeners.size === 0) this.stop();
  }

  /** Removes every listener and stops. */
  close(): void {
    this.listeners.clear();
    this.stop();
  }

  /** Resolves once the current subscription is watching, or has found it cannot. */
  ready(): Promise<WatchState> {
    return this.started ?? Promise.resolve(NOT_WATCHING);
  }

  /** Devices seen at the last listing (what a detach event is described from). */
  snapshot(): PluggedDevice[] {
    return [...this.known.values()];
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }

  private readonly onAttach: HotplugListener = (raw) => this.enqueue((gen) => this.attached(raw, gen));
  private readonly onDetach: HotplugListener = (raw) => this.enqueue((gen) => this.detached(raw, gen));

  private async start(gen: number): Promise<WatchState> {
    let backend: UsbBackend;
    try {
      backend = await this.load();
    } catch (e) {
      return { watching: false, problems: [{ code: 'hotplug-unavailable', message: `hot-plug could not start: ${e instanceof Error ? e.message : String(e)}` }] };
    }
    if (gen !== this.generation) return NOT_WATCHING;
    const source = backend.hotplug;
    if (!source) {
      return { watching: false, problems: [...backend.problems, { code: 'hotplug-unavailable', message: 'hot-plug events need the usb module (libusb), which is unavailable' }] };
    }
    const listing = await listUsbDevices(backend);
    if (gen !== this.generation) return NOT_WATCHING;
    this.backend = backend;
    this.known = new Map(listing.devices.map((d) => [d.id, d]));
    this.source = source;
    source.on('attach', this.onAttach);
    source.on('detach', this.onDetach);
    // usb refs its hot-plug handle while listeners are registered; a watcher must not hold the process.
    source.unrefHotplugEvents?.();
    return { watching: true, problems: listing.problems };
  }

  private stop(): void {
    this.generation++;
    this.started = null;
    if (this.source) {
      this.source.removeListener('attach', this.onAttach);
      this.source.removeListener('detach', this.onDetach);
    }
    this.source = null;
    this.backend = null;
    this.known = new Map();
  }

  private enqueue(handle: (gen: number) => Promise<void>): void {
    const gen = this.generation;
    this.queue = this.queue.then(() => (gen === this.generation ? handle(gen) : undefined)).catch(() => undefined);
  }

  private async relist(): Promise<PluggedDevice[]> {
    if (!this.backend) return [];
    const listing = await listUsbDevices(this.backend);
    this.known = new Map(listing.devices.map((d) => [d.id, d]));
    return listing.devices;
  }

  private async attached(raw: UsbDeviceLike, gen: number): Promise<void> {
    if (this.settleMs > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, this.settleMs);
        t.unref();
      });
      if (gen !== this.generation) return;
    }
    const id = usbDeviceId(usbViewOf(raw));
    const devices = await this.relist();
    if (gen !== this.generation) return;
    this.emit({ type: 'attach', device: devices.find((d) => d.id === id) ?? deviceOf(raw) });
  }

  private async detached(raw: UsbDeviceLike, gen: number): Promise<void> {
    const id = usbDeviceId(usbViewOf(raw));
    const device = this.known.get(id) ?? deviceOf(raw);
    await this.relist();
    if (gen !== this.generation) return;
    this.emit({ type: 'detach', device });
  }

  private emit(event: DeviceEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch {
        // One subscriber's failure must not keep the others from hearing of the event.
      }
    }
  }
}

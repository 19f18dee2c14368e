// The offline indicator (main/desktop/network-watch.ts) over fake interface tables: which interfaces
// count as up, and when the watch reports a change.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { networkStatus, watchNetwork, type InterfaceTable } from '../../main/desktop/network-watch.js';

const LO: InterfaceTable = {
  lo: [
    { address: '127.0.0.1', family: 'IPv4', internal: true },
    { address: '::1', family: 'IPv6', internal: true },
  ],
};
const ETH = { address: '192.168.1.20', family: 'IPv4', internal: false };

describe('networkStatus', () => {
  it('is offline with loopback only, or no interface at all', () => {
    expect(networkStatus(LO)).toEqual({ interfaces: [], offline: true });
    expect(networkStatus({})).toEqual({ interfaces: [], offline: true });
    expect(networkStatus({ lo: undefined })).toEqual({ interfaces: [], offline: true });
  });

  it('is online with any non-loopback address, and lists each, sorted', () => {
    const table: InterfaceTable = {
      ...LO,
      wlan0: [{ address: 'fe80::1', family: 'IPv6', internal: false }],
      eth0: [ETH, { address: 'fe80::2', family: 'IPv6', internal: false }],
    };
    expect(networkStatus(table)).toEqual({
      offline: false,
      interfaces: [
        { name: 'eth0', address: '192.168.1.20', family: 'IPv4' },
        { name: 'eth0', address: 'fe80::2', family: 'IPv6' },
        { name: 'wlan0', address: 'fe80::1', family: 'IPv6' },
      ],
    });
  });

  it('counts a link-local IPv6 address alone as up, and names a numeric family (older Node) as text', () => {
    expect(networkStatus({ usb0: [{ address: 'fe80::9', family: 6, internal: false }] })).toEqual({
      offline: false,
      interfaces: [{ name: 'usb0', address: 'fe80::9', family: '6' }],
    });
  });
});

describe('watchNetwork', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('reads at once, then every interval, and reports only changes', () => {
    let table: InterfaceTable = LO;
    const read = vi.fn(() => table);
    const onChange = vi.fn();
    const watch = watchNetwork({ read, intervalMs: 3000, onChange });
    expect(read).toHaveBeenCalledTimes(1);
    expect(watch.current()).toEqual({ interfaces: [], offline: true });
    vi.advanceTimersByTime(9000);
    expect(read).toHaveBeenCalledTimes(4);
    expect(onChange).not.toHaveBeenCalled();

    table = { ...LO, eth0: [ETH] };
    vi.advanceTimersByTime(3000);
    expect(onChange).toHaveBeenCalledExactlyOnceWith({ offline: false, interfaces: [{ name: 'eth0', address: '192.168.1.20', family: 'IPv4' }] });
    expect(watch.current().offline).toBe(false);

    table = LO;
    vi.advanceTimersByTime(3000);
    expect(onChange).toHaveBeenCalledTimes(2);
    expect(onChange).toHaveBeenLastCalledWith({ interfaces: [], offline: true });

    watch.stop();
    table = { ...LO, eth0: [ETH] };
    vi.advanceTimersByTime(30_000);
    expect(read).toHaveBeenCalledTimes(6);
    expect(onChange).toHaveBeenCalledTimes(2);
  });

  it('does not report an unreadable table as offline', () => {
    const onChange = vi.fn();
    let fail = false;
    const watch = watchNetwork({
      read: () => {
        if (fail) throw new Error('uv_interface_addresses');
        return LO;
      },
      intervalMs: 1000,
      onChange,
    });
    fail = true;
    vi.advanceTimersByTime(1000);
    expect(watch.current().offline).toBe(false);
    expect(onChange).toHaveBeenCalledExactlyOnceWith(expect.objectContaining({ offline: false }));
    watch.stop();
  });
});

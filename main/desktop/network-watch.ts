// The desktop's offline indicator (DESIGN.md: "The desktop shows whether any non-loopback network
// interface is up during a ceremony"). A key ceremony should run on a machine with no network: the main
// process reads the interfaces every few seconds and pushes the status to the window whenever it changes
// (./desktop-app.ts sends it on the `kura:network` channel), so the console can warn while a ceremony runs.
//
// What counts as up is main/console/network.ts's, shared with the console's network.status command.
import { networkStatus, type InterfaceTable, type NetworkStatusView } from '../console/index.js';

export { networkStatus, type InterfaceTable };

/**
 * Reads the table and its status; a table that cannot be read (some sandboxes refuse the call) is not
 * taken for "offline": the console keeps warning rather than tell a custodian the machine is cut off.
 */
function readStatus(read: () => InterfaceTable): NetworkStatusView {
  try {
    return networkStatus(read());
  } catch {
    return { interfaces: [{ name: '(unreadable)', address: 'the network interfaces could not be read', family: 'unknown' }], offline: false };
  }
}

export interface NetworkWatch {
  /** The status read last. */
  current(): NetworkStatusView;
  stop(): void;
}

/**
 * Reads the interfaces now and every `intervalMs`, and calls `onChange` with each status that differs
 * from the one before (the first read is not a change: the window asks for it when it loads).
 */
export function watchNetwork(opts: { read: () => InterfaceTable; intervalMs: number; onChange: (status: NetworkStatusView) => void }): NetworkWatch {
  let status = readStatus(opts.read);
  let key = JSON.stringify(status);
  const timer = setInterval(() => {
    const next = readStatus(opts.read);
    const nextKey = JSON.stringify(next);
    if (nextKey === key) return;
    status = next;
    key = nextKey;
    opts.onChange(next);
  }, opts.intervalMs);
  // The watch never keeps the process alive by itself.
  timer.unref?.();
  return {
    current: () => status,
    stop: () => clearInterval(timer),
  };
}

// USB discovery of HSM tokens: what the CLI, the console and the admin API import. The table of
// known tokens (known-tokens.ts), the native views (backend.ts), listing and merging
// (discovery.ts), hot-plug (watcher.ts) and the console's summary (summary.ts).
export { loadUsbBackend, linuxBusPresent } from './backend.js';
export type { DiscoveryProblem, DiscoveryProblemCode, HidDeviceLike, HotplugSource, UsbBackend, UsbDeviceLike } from './backend.js';
export { listUsbDevices, mergeViews, tokensOf, unknownDevicesOf, whyNoTokens } from './discovery.js';
export type { DeviceListing, HidView, PluggedDevice, UsbView } from './discovery.js';
export { CCID_INTERFACE_CLASS, KNOWN_TOKENS, matchToken, vidPid } from './known-tokens.js';
export type { KnownToken, Pkcs11ModuleHint, TokenKind, TokenMatch } from './known-tokens.js';
export { devicesSummary, summarizeDevice, summarizeListing } from './summary.js';
export type { DeviceSummary, DevicesSummary } from './summary.js';
export { UsbDeviceWatcher } from './watcher.js';
export type { DeviceEvent, DeviceListener, UsbDeviceWatcherOptions, WatchState } from './watcher.js';

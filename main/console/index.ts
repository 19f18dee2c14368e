// The operator command contract: what the admin API, the desktop's IPC and the renderer share.
export * from './commands.js';
export { CONSOLE_CSP } from './csp.js';
export type * from './views.js';
export type * from './bridge.js';
export { networkStatus, type InterfaceTable } from './network.js';

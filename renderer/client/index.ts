// Picks the transport (the desktop's `window.kura` when present, HTTP otherwise) and hands the client to
// the app through Vue's provide/inject, so components and Pinia stores reach it by `useClient()` and
// tests provide a fake one instead.
import { inject, type App, type InjectionKey } from 'vue';
import { tracked } from './activity.js';
import { createHttpClient, type TokenKeeper } from './http.js';
import { createIpcClient, desktopBridge } from './ipc.js';
import type { ConsoleClient } from './types.js';

export { CommandError, CLIENT_ERROR, type ConsoleClient, type CommandName, type CommandInput, type CommandOutput } from './types.js';

export const CLIENT: InjectionKey<ConsoleClient> = Symbol('kura console client');

/** The desktop's IPC when the preload put `window.kura` there, else HTTP to this page's appliance. */
export function chooseClient(tokens?: TokenKeeper): ConsoleClient {
  const bridge = desktopBridge();
  return bridge ? createIpcClient(bridge) : createHttpClient(tokens ? { tokens } : {});
}

/** Provides `client` to the app, noting each use of the session (./activity.ts) for the timeout warning. */
export function provideClient(app: App, client: ConsoleClient): void {
  app.provide(CLIENT, tracked(client));
}

export function useClient(): ConsoleClient {
  const client = inject(CLIENT, undefined);
  if (!client) throw new Error('No console client was provided (provideClient).');
  return client;
}

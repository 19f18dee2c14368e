// Electron's utilityProcess (main/desktop/electron-api.ts) as far as Kura uses it, over a real Node.js
// child process: the script runs with process.parentPort (./parent-port.mjs), and messages cross with
// Electron's structured clone, so a Buffer arrives as a plain Uint8Array both ways.
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { UtilityProcess, UtilityProcessModule } from '../../../main/desktop/electron-api.js';

const PARENT_PORT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'parent-port.mjs');

const plain = (value: unknown): unknown => {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (Array.isArray(value)) return value.map(plain);
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  return value;
};

export interface FakeUtilityProcessModule extends UtilityProcessModule {
  /** Every process started, in order: its script, arguments and options. */
  readonly started: { modulePath: string; args: string[]; serviceName: string }[];
}

export function fakeUtilityProcess(): FakeUtilityProcessModule {
  const started: FakeUtilityProcessModule['started'] = [];
  return {
    started,
    fork(modulePath, args, options): UtilityProcess {
      started.push({ modulePath, args, serviceName: options.serviceName });
      const child = fork(modulePath, args, { serialization: 'advanced', execArgv: ['--import', PARENT_PORT], stdio: ['ignore', 'ignore', 'inherit', 'ipc'], env: options.env });
      child.unref();
      child.channel?.unref();
      const utility: UtilityProcess = {
        get pid() {
          return child.pid;
        },
        postMessage: (message) => {
          child.send(plain(message) as object);
        },
        kill: () => child.kill(),
        on: (event: 'message' | 'exit', listener: (value: never) => void) => {
          if (event === 'message') child.on('message', listener as (m: unknown) => void);
          else child.on('exit', (code, signal) => (listener as (code: number) => void)(code ?? (signal ? 1 : 0)));
          return utility;
        },
      };
      return utility;
    },
  };
}

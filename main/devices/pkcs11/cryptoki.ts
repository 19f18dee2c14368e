// Where a PKCS#11 module runs, behind one interface: the table of calls (./calls.ts), asked by name.
//
// - In process: a software token the vendor table knows (SoftHSM2, NSS softokn; `inProcess` in
//   ./vendors.ts) does its work in this process in microseconds, from local files. Its calls run inline
//   on the event loop: a hand-off would cost more than the call.
// - In a host process (./module-host.ts): every other module, a device's above all. A vendor's library
//   is native code Kura did not write, driving a USB token, a PCIe card or a network HSM's client. In
//   Kura's process, a call that never returns would freeze the event loop (most PKCS#11 calls have no
//   asynchronous form), and a crash in it would stop the appliance, which restarts sealed. In a host of
//   its own, a call that does not answer within its deadline, or a host that dies, fails that module's
//   calls and its key store: Kura goes on serving every other key, and reconnecting starts a new host.
import pkcs11js from 'pkcs11js';
import { runCall, type CallArgs, type CallName, type CallResult } from './calls.js';

export interface Cryptoki {
  /** Whether the module runs in a host process of its own. */
  readonly hosted: boolean;
  /** Runs an entry of the table of calls. Rejects with Pkcs11CallError only. */
  call<N extends CallName>(name: N, ...args: CallArgs<N>): Promise<CallResult<N>>;
  /** Stops the module's host process, if it has one; every later call fails. For an in-process module, nothing. */
  end(): void;
}

/** Loads a library in this process. Throws Error when the file is not a PKCS#11 library. */
export function inProcessCryptoki(realPath: string): Cryptoki {
  const api = new pkcs11js.PKCS11();
  api.load(realPath);
  // Inline: a software token's work takes microseconds, less than a hand-off to a thread would.
  const binding = { api, offThread: false };
  return {
    hosted: false,
    call<N extends CallName>(name: N, ...args: CallArgs<N>): Promise<CallResult<N>> {
      try {
        return Promise.resolve(runCall(binding, name, args));
      } catch (e) {
        return Promise.reject(e as Error);
      }
    },
    end() {},
  };
}

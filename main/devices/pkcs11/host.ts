// The host process of one PKCS#11 module (./module-host.ts starts it): `node host.js LIBRARY`, or an
// Electron utility process running this file. It loads the library, says whether that worked, then runs
// the table of calls (./calls.ts) as Kura's process asks over the IPC channel (Electron: the parent
// port), and answers each with its value or its Pkcs11CallError: the quick calls one at a time, the
// device work (generate, derive, encrypt, decrypt) on its thread pool, several at once; or, for a module
// that cannot lock (CKR_CANT_LOCK: ./calls.ts, initialize), every call on the main thread, one at a time.
//
// It writes nothing of what it is given or answers anywhere: not to stdout (which Kura does not read),
// not to stderr (which stays the vendor library's, for its own diagnostics). It ends when Kura's process
// goes away (the channel closes; or, while stuck in a call, its parent changes: watchParent) and ignores
// the terminal's Ctrl-C, which is Kura's to act on: Kura logs out and finalizes the module before it
// stops the host.
import { Worker } from 'node:worker_threads';
import pkcs11js from 'pkcs11js';
import { runCall, type Binding, type CallArgs, type CallName } from './calls.js';
import { Pkcs11CallError } from './errors.js';
import { DATA_ARGUMENT, withBuffers, type HostAnswer, type HostRequest, type HostStarted } from './host-protocol.js';

/** How often the host checks that Kura's process is still its parent. */
const PARENT_CHECK_MS = 500;

/** Electron's end of a utility process's channel (process.parentPort). */
interface ParentPort {
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

const parentPort = (process as { parentPort?: ParentPort }).parentPort;

function send(message: HostAnswer | HostStarted): void {
  if (parentPort) parentPort.postMessage(message);
  else process.send?.(message);
}

function onRequest(handle: (request: HostRequest) => void): void {
  if (parentPort) parentPort.on('message', (e) => handle(withBuffers(e.data) as HostRequest));
  else process.on('message', (m: HostRequest) => handle(m));
}

function failure(request: HostRequest, e: unknown): HostAnswer {
  if (e instanceof Pkcs11CallError) return { id: request.id, error: { fn: e.fn, rv: e.rv, meaning: e.meaning } };
  return { id: request.id, error: { fn: request.name, rv: undefined, meaning: 'other', why: e instanceof Error ? e.message : 'the call failed' } };
}

/** The answer to a request: at once, or when its device work on the thread pool is done. */
function answer(binding: Binding, request: HostRequest): HostAnswer | Promise<HostAnswer> {
  try {
    const value = runCall(binding, request.name, request.args as CallArgs<CallName>);
    if (!(value instanceof Promise)) return { id: request.id, value };
    return value.then(
      (v): HostAnswer => ({ id: request.id, value: v }),
      (e: unknown) => failure(request, e),
    );
  } catch (e) {
    return failure(request, e);
  }
}

/** The data of an encryption or decryption (its input, and a decryption's output) is not kept once answered. */
function wipe(request: HostRequest, reply: HostAnswer): void {
  if (request.name !== 'encrypt' && request.name !== 'decrypt') return;
  const input = request.args[DATA_ARGUMENT];
  if (input instanceof Uint8Array) input.fill(0);
  if (request.name === 'decrypt' && 'value' in reply && reply.value instanceof Uint8Array) reply.value.fill(0);
}

/**
 * Ends this process when Kura's goes away, even while the library is stuck in a call (the main thread
 * then runs no JavaScript, and the channel's close is never seen): a thread of its own watches the parent
 * process ID, which changes when the parent is gone (killed by SIGKILL or the OOM killer, say).
 */
function watchParent(): void {
  const watcher = new Worker(
    "const { workerData } = require('node:worker_threads'); setInterval(() => { if (process.ppid !== workerData) process.kill(process.pid, 'SIGKILL'); }, PARENT_CHECK_MS);".replace(
      'PARENT_CHECK_MS',
      String(PARENT_CHECK_MS),
    ),
    { eval: true, workerData: process.ppid },
  );
  watcher.unref();
}

function main(): void {
  const library = process.argv[2];
  if ((!process.send && !parentPort) || !library) {
    process.stderr.write('This is the host process of a PKCS#11 module; Kura starts it.\n');
    process.exit(2);
  }
  process.on('SIGINT', () => undefined);
  watchParent();
  process.on('disconnect', () => process.exit(0));
  const api = new pkcs11js.PKCS11();
  try {
    api.load(library);
  } catch {
    send({ started: false });
    if (process.connected) process.disconnect();
    return;
  }
  // Device work runs on the thread pool (UV_THREADPOOL_SIZE: module-host.ts sets it), so that the calls of
  // other sessions go on while one waits on the device; answers go back as they are ready.
  const binding: Binding = { api, offThread: true };
  const reply = (request: HostRequest, answered: HostAnswer) => {
    // send() has serialized the reply when it returns.
    send(answered);
    wipe(request, answered);
  };
  onRequest((request) => {
    const answered = answer(binding, request);
    if (answered instanceof Promise) void answered.then((a) => reply(request, a));
    else reply(request, answered);
  });
  send({ started: true, pid: process.pid });
}

main();

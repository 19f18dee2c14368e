// PKCS#11 module hosts in the desktop app (main/devices/pkcs11/module-host.ts): the packaged binary does
// not run as plain Node.js (its runAsNode fuse is off, electron-builder.yml), so child_process.fork,
// which starts the binary with ELECTRON_RUN_AS_NODE, cannot start a host there. Electron's utility
// process runs the same host script, with the parent port for the channel; its structured clone turns
// Buffers into Uint8Arrays, which both ends turn back (devices/pkcs11/host-protocol.ts, withBuffers).
import type { HostLauncher } from '../app.js';
import type { UtilityProcessModule } from './electron-api.js';

export function utilityProcessHosts(utilityProcess: UtilityProcessModule): HostLauncher {
  return (script, args, env) => {
    const child = utilityProcess.fork(script, args, { serviceName: 'Kura PKCS#11 module host', stdio: ['ignore', 'ignore', 'inherit'], env });
    let ended = false;
    // SIGKILL, as child_process hosts get: a library stuck in a call, or one that handles SIGTERM, still ends.
    const kill = () => {
      if (ended) return;
      try {
        if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
        else child.kill();
      } catch {
        // Gone already.
      }
    };
    child.on('exit', () => (ended = true));
    return {
      send: (message) => child.postMessage(message),
      onMessage: (listener) => child.on('message', listener),
      onExit: (listener) => child.on('exit', (code) => listener(`exit code ${code}`)),
      kill,
      // A utility process has no channel to close: the module is finalized already, so it is stopped.
      end: kill,
    };
  };
}

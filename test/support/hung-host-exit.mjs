// A Kura process whose PKCS#11 module host hangs in a call, for test/keystores/hsm/device-faults.test.ts,
// which checks that the host goes when this process does: when it exits ('exit'), or when it is killed
// ('wait': it waits to be). Runs the build (dist/). Environment: SOFTHSM2_CONF, KURA_SHIM_TARGET and
// KURA_SHIM_CONTROL as the test sets them (the control file says which call hangs); argv: shim path,
// token label, PIN, then 'exit' or 'wait'. Prints one line of JSON, {"hostPid": N}, once the hanging
// call has been made.
import fs from 'node:fs';
import { connectHsmKeyStore } from '../../dist/keystores/hsm/index.js';

const [modulePath, tokenLabel, pin, mode] = process.argv.slice(2);

function hostPids() {
  const found = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && fs.readFileSync(`/proc/${name}/cmdline`, 'utf8').includes('devices/pkcs11/host.js')) found.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

const store = await connectHsmKeyStore({ modulePath, tokenLabel, pin }, { callDeadlineMs: 60_000 });
void store.generateRandom(16).catch(() => undefined);
await new Promise((r) => setTimeout(r, 300));
process.stdout.write(`${JSON.stringify({ hostPid: hostPids()[0] ?? null })}\n`);
if (mode === 'exit') process.exit(0);
setInterval(() => undefined, 1_000);

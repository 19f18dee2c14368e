// `kura stop`: stops the running appliance gracefully (POST /admin/v1/stop, needing the admin token),
// as SIGTERM does, and waits until it has stopped: its process gone, or its data directory lock
// (kura.pid, released last, after the database has closed) let go. The lock matters because an
// exited process whose parent has not reaped it yet still answers kill(pid, 0).
// The wait is elapsed time (the monotonic clock), not the wall clock: stepped forward while waiting it
// said "still running" at once; stepped back an hour, a shutdown script waited that hour.
import fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { lockFile } from '../../app.js';
import { systemMonotonic } from '../../common/monotonic.js';
import { AdminCallError } from '../admin-client.js';
import { CliError, CLIENT_OPTIONS, print, printJson, type CommandSpec, type Invocation } from '../command.js';
import { adminClient, locate, pidAlive } from '../locate.js';

const WAIT_MS = 30_000;

function lockHeldBy(dataDir: string, pid: number): boolean {
  try {
    return Number(fs.readFileSync(lockFile(dataDir), 'utf8')) === pid;
  } catch {
    return false;
  }
}

async function run(inv: Invocation): Promise<number> {
  const located = locate(inv);
  const client = adminClient(inv);
  // The pid to wait for, when the runtime file names the appliance being stopped.
  const pid = located.runtime && located.runtime.endpoint === client.endpoint ? located.runtime.pid : undefined;
  await client.call('POST', '/stop', undefined, true);
  const deadline = systemMonotonic.nowMs() + WAIT_MS;
  for (;;) {
    const gone = pid !== undefined ? !pidAlive(pid) || !lockHeldBy(located.dataDir, pid) : await client.call('GET', '/status').then(() => false, (e: unknown) => e instanceof AdminCallError && e.code === 'Unreachable');
    if (gone) break;
    if (systemMonotonic.nowMs() > deadline) throw new CliError('Timeout', `Kura at ${client.endpoint} was asked to stop but is still running after ${WAIT_MS / 1000} s.`);
    await sleep(100);
  }
  if (inv.json) printJson({ stopped: true, endpoint: client.endpoint, ...(pid !== undefined ? { pid } : {}), dataDir: located.dataDir });
  else print(`Kura at ${client.endpoint} stopped.`);
  return 0;
}

export const stop: CommandSpec = {
  name: 'stop',
  summary: 'stop the running appliance gracefully',
  description: `Stops the running appliance as SIGTERM does: calls in progress finish, the database closes cleanly,
the process exits 0. Waits until it has stopped. Needs the admin token from the data directory
(or KURA_ADMIN_TOKEN).`,
  options: CLIENT_OPTIONS,
  run,
};

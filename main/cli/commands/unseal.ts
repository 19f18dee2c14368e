// `kura unseal`: gives root key shares to a sealed appliance, from the arguments (with a warning: other
// users can read them in the process list), from files, or one per line on standard input. A wrong
// share or a share of another root key is refused; the appliance stays sealed until enough shares
// recombine to its root key. A PKCS#11-sealed appliance (`kura init --seal pkcs11`) takes
// its token's PIN instead (--pin-file F or --pin-stdin); a refused PIN leaves it sealed.
import fs from 'node:fs';
import { adminClient } from '../locate.js';
import { CLIENT_OPTIONS, CliError, print, printErr, printJson, UsageError, warn, type CommandSpec, type Invocation } from '../command.js';
import { PIN_OPTIONS, readPin } from '../pin.js';
import type { StatusBody } from './status.js';

async function readStdinLines(): Promise<string[]> {
  if (process.stdin.isTTY) printErr('Paste shares, one per line; finish with Ctrl-D.');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}

async function unsealWithPin(inv: Invocation, pin: string): Promise<number> {
  if (inv.positionals.length > 0 || inv.values.file !== undefined) throw new UsageError('give shares or a PIN, not both');
  // A PIN unseal needs the admin token (a PIN can be guessed; shares cannot).
  const s = await adminClient(inv).call<StatusBody>('POST', '/unseal', { pin }, true);
  if (inv.json) printJson(s);
  else print(s.state === 'unsealed' ? 'Unsealed.' : `Still ${s.state}.`);
  return 0;
}

async function run(inv: Invocation): Promise<number> {
  const pin = await readPin(inv);
  if (pin !== undefined) return unsealWithPin(inv, pin);
  // Accepted (documented, and scripts use it), but any local user can read a process's arguments
  // (ps, /proc/PID/cmdline) while it runs: say so each time, and what to use instead.
  if (inv.positionals.length > 0) {
    warn(inv, 'SharesInArguments', 'other users of this machine can read shares given as arguments (ps, /proc/PID/cmdline): give them with --file F or on standard input.');
  }
  const shares = [...inv.positionals];
  for (const f of (inv.values.file as string[] | undefined) ?? []) {
    try {
      shares.push(fs.readFileSync(f, 'utf8').trim());
    } catch (e) {
      throw new CliError('File', `Cannot read the share file ${f} (${(e as NodeJS.ErrnoException).code ?? 'error'}).`);
    }
  }
  if (shares.length === 0) {
    // A PKCS#11-sealed appliance takes no shares: say so before waiting for some on standard input.
    const { mode } = await adminClient(inv).call<StatusBody>('GET', '/status');
    if (mode === 'pkcs11') throw new UsageError('this appliance is sealed by a PKCS#11 token: give its PIN with --pin-file F or --pin-stdin');
    shares.push(...(await readStdinLines()));
  }
  if (shares.length === 0) throw new UsageError('no shares given');
  const client = adminClient(inv);
  // Whatever listens at the default endpoint while no Kura runs on this data directory may be another
  // local user's listener: shares go only to the data directory's appliance, or one named by --endpoint.
  client.requireOwnAppliance('the shares are');
  const s = await client.call<StatusBody>('POST', '/unseal', { shares });
  if (inv.json) printJson(s);
  else if (s.state === 'unsealed') print('Unsealed.');
  else print(`Share accepted: ${s.progress} of ${s.threshold} given; still sealed.`);
  return 0;
}

export const unseal: CommandSpec = {
  name: 'unseal',
  summary: 'give root key shares (or a PKCS#11 token\'s PIN) to a sealed appliance',
  args: '[SHARE…]',
  description: `Gives root key shares to a sealed appliance. Shares come from --file (one share per file), one per
line on standard input, or the arguments. Prefer --file or standard input: other users of the machine
can read a command's arguments in the process list (ps), so shares given as arguments are taken with a
warning. Until enough shares are given the appliance stays sealed and says how many it has. A share
that is not readable, belongs to another root key or was already given is refused, and the shares
given before it are kept. Shares that do not recombine to the
root key are all refused and forgotten: start again with every share.

An appliance initialized with --seal pkcs11 unseals with its token's user PIN instead (--pin-file F or
--pin-stdin): the token opens the sealed root key. A wrong PIN is refused (AccessDenied) and an absent
token reported (KeyUnavailable); the appliance stays sealed. The PIN is not kept: the appliance logs
out of the token after unsealing.`,
  options: [
    { name: 'file', value: 'F', help: 'read a share from file F (repeatable)', multiple: true, complete: 'file' },
    ...PIN_OPTIONS,
    ...CLIENT_OPTIONS,
  ],
  run,
};

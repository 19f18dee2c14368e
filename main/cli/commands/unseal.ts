// `kura unseal`: gives root key shares to a sealed appliance, from the arguments, from files, or one
// per line on standard input. A wrong share, a share of another root key or too few shares are
// refused; the appliance stays sealed.
import fs from 'node:fs';
import { adminClient } from '../locate.js';
import { CLIENT_OPTIONS, CliError, print, printErr, printJson, UsageError, type CommandSpec, type Invocation } from '../command.js';
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

async function run(inv: Invocation): Promise<number> {
  const shares = [...inv.positionals];
  for (const f of (inv.values.file as string[] | undefined) ?? []) {
    try {
      shares.push(fs.readFileSync(f, 'utf8').trim());
    } catch (e) {
      throw new CliError('File', `Cannot read the share file ${f} (${(e as NodeJS.ErrnoException).code ?? 'error'}).`);
    }
  }
  if (shares.length === 0) shares.push(...(await readStdinLines()));
  if (shares.length === 0) throw new UsageError('no shares given');
  const s = await adminClient(inv).call<StatusBody>('POST', '/unseal', { shares });
  if (inv.json) printJson(s);
  else if (s.state === 'unsealed') print('Unsealed.');
  else print(`Share accepted: ${s.progress} of ${s.threshold} given; still sealed.`);
  return 0;
}

export const unseal: CommandSpec = {
  name: 'unseal',
  summary: 'give root key shares to a sealed appliance',
  args: '[SHARE…]',
  description: `Gives root key shares to a sealed appliance. Shares come from the arguments, from --file (one share
per file), or one per line on standard input. A wrong share, a share of another root key or too few
shares are refused; the appliance stays sealed and forgets the shares given so far.`,
  options: [{ name: 'file', value: 'F', help: 'read a share from file F (repeatable)', multiple: true, complete: 'file' }, ...CLIENT_OPTIONS],
  run,
};

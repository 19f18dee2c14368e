// `kura init`: makes the root key on a running, uninitialized appliance and splits it M-of-N
// (Shamir). The root key is never stored; each share is shown (or written) once.
import fs from 'node:fs';
import path from 'node:path';
import { adminClient } from '../locate.js';
import { CLIENT_OPTIONS, intOption, print, printJson, stringOption, UsageError, type CommandSpec, type Invocation } from '../command.js';

async function run(inv: Invocation): Promise<number> {
  const shares = intOption(inv, 'shares', 1, 255);
  const threshold = intOption(inv, 'threshold', 1, 255);
  if (shares === undefined || threshold === undefined) throw new UsageError('--shares and --threshold are required');
  const client = adminClient(inv);
  const r = await client.call<{ threshold: number; shares: string[] }>('POST', '/init', { threshold, shares });
  const outDir = stringOption(inv, 'out-dir');
  if (outDir) {
    fs.mkdirSync(outDir, { recursive: true, mode: 0o700 });
    const files = r.shares.map((s, i) => {
      const f = path.join(outDir, `share-${i + 1}.txt`);
      fs.writeFileSync(f, `${s}\n`, { mode: 0o600, flag: 'wx' });
      return f;
    });
    if (inv.json) printJson({ threshold: r.threshold, files });
    else {
      print(`Root key made and split: ${r.threshold} of ${r.shares.length} shares unseal it.`);
      for (const f of files) print(`  wrote ${f}`);
      print('Give each file to one custodian, then delete it here. Kura is sealed: run `kura unseal`.');
    }
    return 0;
  }
  if (inv.json) return (printJson(r), 0);
  print(`Root key made and split: ${r.threshold} of ${r.shares.length} shares unseal it.`);
  print('Each share is shown once. Give one to each custodian; Kura keeps no copy.');
  r.shares.forEach((s, i) => print(`Share ${i + 1}: ${s}`));
  print('Kura is sealed: run `kura unseal` with the shares.');
  return 0;
}

export const init: CommandSpec = {
  name: 'init',
  summary: 'make the root key and split it into custodian shares',
  description: `Makes a 256-bit root key on the running appliance and splits it into N shares, any M of which unseal
it (Shamir). The root key is never stored; each share is shown once. Give one share to each custodian.`,
  options: [
    { name: 'shares', value: 'N', help: 'number of shares (1–255), required' },
    { name: 'threshold', value: 'M', help: 'shares needed to unseal (1–N), required' },
    { name: 'out-dir', value: 'DIR', help: 'write each share to DIR/share-<i>.txt (0600) instead of printing it', complete: 'dir' },
    ...CLIENT_OPTIONS,
  ],
  run,
};

// `kura init`: makes the root key on a running, uninitialized appliance and splits it M-of-N
// (Shamir; the root key is never stored, each share is shown or written once), or, with
// `--seal pkcs11`, has a PKCS#11 token seal it under a non-extractable key made on the token.
// Either way the appliance is left sealed: `kura unseal` follows.
import fs from 'node:fs';
import path from 'node:path';
import { isOperatorName, OPERATOR_NAME_RULE } from '../../ceremony/quorum.js';
import { openDirectoryProblem } from '../../common/private-directory.js';
import { adminClient } from '../locate.js';
import { CliError, CLIENT_OPTIONS, intOption, print, printJson, stringOption, UsageError, type CommandSpec, type Invocation } from '../command.js';
import { libraryParameters, PIN_OPTIONS, readPin } from '../pin.js';

const PKCS11_ONLY = ['module', 'token-label', 'nss-db', 'library-parameters', 'pin-file', 'pin-stdin'] as const;
const SHAMIR_ONLY = ['shares', 'threshold', 'out-dir'] as const;

interface Custodians {
  operators: { name: string; fingerprint: string }[];
  threshold: number;
}

/** --operators NAME=FILE.pem,… and --quorum M: the first custodians, their public keys read here. */
function custodiansOf(inv: Invocation): { operators?: { name: string; publicKey: string }[]; quorum?: number } {
  const list = stringOption(inv, 'operators');
  const quorum = intOption(inv, 'quorum', 1, 255);
  if (list === undefined && quorum === undefined) return {};
  if (list === undefined || quorum === undefined) throw new UsageError('--operators and --quorum go together');
  const operators = list.split(',').map((item) => {
    const m = /^([^=]+)=(.+)$/.exec(item.trim());
    if (!m) throw new UsageError(`--operators takes NAME=FILE.pem pairs separated by commas, not "${item}"`);
    if (!isOperatorName(m[1]!)) throw new UsageError(`--operators: "${m[1]}" is not an operator name. ${OPERATOR_NAME_RULE}`);
    let publicKey: string;
    try {
      publicKey = fs.readFileSync(m[2]!, 'utf8');
    } catch {
      throw new UsageError(`cannot read ${m[2]} (the public key of ${m[1]})`);
    }
    return { name: m[1]!, publicKey };
  });
  if (quorum > operators.length) throw new UsageError(`--quorum ${quorum} needs at least ${quorum} operators`);
  return { operators, quorum };
}

function printCustodians(c: Custodians | undefined): void {
  if (!c) return;
  print(`Custodians enrolled; every quorum action needs ${c.threshold} of them:`);
  // In one column, to be read back group by group.
  const width = Math.max(...c.operators.map((o) => o.name.length));
  for (const o of c.operators) print(`  ${o.name.padEnd(width)}  ${o.fingerprint}`);
  print('Read each fingerprint back to its custodian.');
}

interface Pkcs11InitBody {
  mode: 'pkcs11';
  modulePath: string;
  tokenLabel: string;
  keyLabel: string;
  keyId: string;
  state: string;
  custodians?: Custodians;
}

async function initPkcs11(inv: Invocation): Promise<number> {
  const given = SHAMIR_ONLY.find((o) => inv.values[o] !== undefined);
  if (given) throw new UsageError(`--${given} is for --seal shamir`);
  const modulePath = stringOption(inv, 'module');
  const tokenLabel = stringOption(inv, 'token-label');
  if (!modulePath || !tokenLabel) throw new UsageError('--seal pkcs11 needs --module and --token-label');
  const params = libraryParameters(inv);
  const pin = await readPin(inv);
  if (pin === undefined) throw new UsageError('--seal pkcs11 needs the token\'s user PIN: --pin-file F or --pin-stdin');
  const r = await adminClient(inv).call<Pkcs11InitBody>(
    'POST',
    '/init',
    { mode: 'pkcs11', modulePath: path.resolve(modulePath), tokenLabel, ...(params !== undefined ? { libraryParameters: params } : {}), pin, ...custodiansOf(inv) },
    true,
  );
  if (inv.json) return (printJson(r), 0);
  print(`Root key made and sealed by the token "${r.tokenLabel}" (${r.modulePath}).`);
  print(`Sealing key on the token: ${r.keyLabel} (CKA_ID ${r.keyId}), sensitive and never extractable.`);
  print('Kura keeps the sealed root key, never the PIN. Kura is sealed: run `kura unseal --pin-file F` (or --pin-stdin).');
  printCustodians(r.custodians);
  return 0;
}

/**
 * The share files --out-dir will take, checked before anything is made: the directory made (0700) or
 * there, writable, and no other user's to write to, and none of the files there yet (they are written with 'wx', never over another
 * root key's share).
 */
function prepareShareFiles(outDir: string, count: number): string[] {
  const files = Array.from({ length: count }, (_, i) => path.join(outDir, `share-${i + 1}.txt`));
  try {
    fs.mkdirSync(outDir, { recursive: true, mode: 0o700 });
    if (!fs.statSync(outDir).isDirectory()) throw new CliError('File', `--out-dir ${outDir} is not a directory; nothing was made.`);
    fs.accessSync(outDir, fs.constants.W_OK | fs.constants.X_OK);
    // The share files are the only copies of the shares (0600: no one else reads them), but whoever owns
    // the directory, or may write to it, can delete them or take their names first.
    const open = openDirectoryProblem(outDir);
    if (open !== undefined) throw new CliError('File', `--out-dir ${outDir} is not yours alone: ${open}, and another user could delete the shares; nothing was made.`);
  } catch (e) {
    if (e instanceof CliError) throw e;
    throw new CliError('File', `--out-dir ${outDir} cannot take the share files (${(e as NodeJS.ErrnoException).code ?? String(e)}); nothing was made.`);
  }
  const taken = files.filter((f) => fs.existsSync(f));
  if (taken.length > 0) throw new CliError('File', `${taken.join(', ')} already ${taken.length === 1 ? 'exists' : 'exist'}: move ${taken.length === 1 ? 'it' : 'them'} away (another root key's shares?); nothing was made.`);
  return files;
}

/**
 * Writes each share to its file. A file that cannot be written after all (the disk filled up, the
 * directory changed since the check) must not lose its share: those shares go to standard output, and the
 * command still fails, so that the operator sees and keeps them.
 */
function writeShareFiles(files: string[], shares: string[]): string[] {
  const unwritten: { file: string; share: string; why: string }[] = [];
  files.forEach((f, i) => {
    try {
      fs.writeFileSync(f, `${shares[i]}\n`, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      unwritten.push({ file: f, share: shares[i]!, why: (e as NodeJS.ErrnoException).code ?? String(e) });
    }
  });
  if (unwritten.length === 0) return files;
  for (const u of unwritten) print(`Share ${files.indexOf(u.file) + 1} (not written to ${u.file}: ${u.why}): ${u.share}`);
  throw new CliError('File', `${unwritten.length} share file(s) could not be written; their shares are printed above, once. Keep them: Kura keeps no copy.`);
}

async function run(inv: Invocation): Promise<number> {
  const seal = stringOption(inv, 'seal') ?? 'shamir';
  if (seal === 'pkcs11') return initPkcs11(inv);
  const given = PKCS11_ONLY.find((o) => inv.values[o] !== undefined);
  if (given) throw new UsageError(`--${given} is for --seal pkcs11`);
  const shares = intOption(inv, 'shares', 1, 255);
  const threshold = intOption(inv, 'threshold', 1, 255);
  if (shares === undefined || threshold === undefined) throw new UsageError('--shares and --threshold are required');
  const client = adminClient(inv);
  const outDir = stringOption(inv, 'out-dir');
  // The shares exist once, in the answer to /init: everything that could keep them from their files is
  // checked before the root key is made (a refusal after it would lose them with the appliance).
  const shareFiles = outDir ? prepareShareFiles(outDir, shares) : undefined;
  const r = await client.call<{ threshold: number; shares: string[]; custodians?: Custodians }>('POST', '/init', { threshold, shares, ...custodiansOf(inv) }, true);
  if (outDir && shareFiles) {
    const files = writeShareFiles(shareFiles, r.shares);
    if (inv.json) printJson({ threshold: r.threshold, files, ...(r.custodians ? { custodians: r.custodians } : {}) });
    else {
      print(`Root key made and split: ${r.threshold} of ${r.shares.length} shares unseal it.`);
      for (const f of files) print(`  wrote ${f}`);
      print('Give each file to one custodian, then delete it here. Kura is sealed: run `kura unseal`.');
      printCustodians(r.custodians);
    }
    return 0;
  }
  if (inv.json) return (printJson(r), 0);
  print(`Root key made and split: ${r.threshold} of ${r.shares.length} shares unseal it.`);
  print('Each share is shown once. Give one to each custodian; Kura keeps no copy.');
  r.shares.forEach((s, i) => print(`Share ${i + 1}: ${s}`));
  print('Kura is sealed: run `kura unseal` with the shares.');
  printCustodians(r.custodians);
  return 0;
}

export const init: CommandSpec = {
  name: 'init',
  summary: 'make the root key: split into custodian shares, or sealed by a PKCS#11 token',
  description: `Makes a 256-bit root key on the running, uninitialized appliance (with the admin token of its data
directory: whoever inits receives the shares).

--seal shamir (the default) splits it into N shares, any M of which unseal it. The root key is never
stored; each share is shown once. Give one share to each custodian.

--seal pkcs11 logs in to a PKCS#11 token (--module, --token-label; NSS softokn also --nss-db) with its
user PIN, makes a sensitive, never-extractable AES-256 key there (label kura-root-wrap:<appliance ID>)
and has the token seal the root key with AES-GCM; Kura stores only the sealed root key, the key's
CKA_ID and a check value, never the PIN.

--operators alice=alice.pub,bob=bob.pub,carol=carol.pub --quorum 2 enrolls the first custodians (their
Ed25519 or P-256 public keys, PEM) and sets every action class to need that many of them; from then
on, operators and policies change only with that quorum (kura operators, kura quorum, kura approvals).

Either way Kura is left SEALED after init: run \`kura unseal\` (with the shares, or with the PIN), which
also proves that the unseal path works before anything is entrusted to it.`,
  options: [
    { name: 'seal', value: 'MODE', help: 'how the root key is kept: shamir (default) or pkcs11', choices: ['shamir', 'pkcs11'] },
    { name: 'shares', value: 'N', help: 'shamir: number of shares (1–255), required' },
    { name: 'threshold', value: 'M', help: 'shamir: shares needed to unseal (1–N), required' },
    { name: 'out-dir', value: 'DIR', help: 'shamir: write each share to DIR/share-<i>.txt (0600) instead of printing it', complete: 'dir' },
    { name: 'module', value: 'PATH', help: 'pkcs11: the PKCS#11 module (.so), required', complete: 'file' },
    { name: 'token-label', value: 'LABEL', help: 'pkcs11: the token label, required' },
    { name: 'nss-db', value: 'DIR', help: "pkcs11: NSS softokn's database directory", complete: 'dir' },
    { name: 'library-parameters', value: 'TEXT', help: 'pkcs11: C_Initialize library parameters (NSS softokn)' },
    { name: 'operators', value: 'LIST', help: 'the first custodians: NAME=PUBLIC_KEY.pem pairs separated by commas (with --quorum)' },
    { name: 'quorum', value: 'M', help: 'how many of them approve each quorum action (with --operators)' },
    ...PIN_OPTIONS,
    ...CLIENT_OPTIONS,
  ],
  run,
};

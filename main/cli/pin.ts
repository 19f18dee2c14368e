// What the `kura` commands that reach a PKCS#11 token take (`kura init --seal pkcs11`, `kura unseal`,
// `kura hsm add`) and `kura operators passphrase`: the token's PIN (or the console passphrase), from a
// file (--pin-file F) or standard input (--pin-stdin; typed without echo at a terminal), never from the
// command line, where other users could read it in the process list (one trailing newline is dropped;
// the secret is sent to the appliance once and not kept or printed); and NSS softokn's database
// (--nss-db DIR, or raw --library-parameters).
import fs from 'node:fs';
import path from 'node:path';
import { CliError, stringOption, UsageError, warn, type Invocation, type OptionSpec } from './command.js';

export const NSS_OPTIONS: readonly OptionSpec[] = [
  { name: 'nss-db', value: 'DIR', help: "NSS softokn's database directory" },
  { name: 'library-parameters', value: 'TEXT', help: 'C_Initialize library parameters (NSS softokn)' },
];

/** NSS softokn keeps its token in a database directory, named in its C_Initialize parameters. */
export function libraryParameters(inv: Invocation): string | undefined {
  const raw = stringOption(inv, 'library-parameters');
  const nssDb = stringOption(inv, 'nss-db');
  if (raw !== undefined && nssDb !== undefined) throw new UsageError('give --nss-db or --library-parameters, not both');
  if (nssDb !== undefined) return `configdir='sql:${path.resolve(nssDb)}' certPrefix='' keyPrefix='' secmod='secmod.db' flags=`;
  return raw;
}

export const PIN_OPTIONS: readonly OptionSpec[] = [
  { name: 'pin-file', value: 'F', help: "read the token's user PIN from file F (one trailing newline is dropped)", complete: 'file' },
  { name: 'pin-stdin', help: "read the token's user PIN from standard input (typed without echo at a terminal)" },
];

const stripNewline = (text: string): string => text.replace(/\r?\n$/, '');

/** Reads a line from a terminal without echoing it. */
function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin;
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let text = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') return done();
        if (ch === '\u0003') return done(new CliError('Interrupted', 'Interrupted.'));
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/** The PIN the options name, or undefined if they name none. */
export function readPin(inv: Invocation): Promise<string | undefined> {
  return readSecret(inv, { file: 'pin-file', stdin: 'pin-stdin', prompt: 'Token PIN: ', what: 'PIN' });
}

export const PASSPHRASE_OPTIONS: readonly OptionSpec[] = [
  { name: 'passphrase-file', value: 'F', help: 'read the passphrase from file F (one trailing newline is dropped)', complete: 'file' },
  { name: 'passphrase-stdin', help: 'read the passphrase from standard input (typed without echo at a terminal)' },
];

/** The console passphrase the options name, or undefined if they name none. */
export function readPassphrase(inv: Invocation): Promise<string | undefined> {
  return readSecret(inv, { file: 'passphrase-file', stdin: 'passphrase-stdin', prompt: 'Passphrase: ', what: 'passphrase' });
}

/**
 * A secret's file that other users may read is worth a word (not a refusal: it was read already, and an
 * operator may have reasons): `chmod 600`. With --json, as a JSON line.
 */
function warnIfShared(inv: Invocation, file: string, what: string): void {
  if (process.platform === 'win32') return;
  try {
    const mode = fs.statSync(file).mode & 0o777;
    if (mode & 0o077) warn(inv, 'SharedSecretFile', `other users can read the ${what} file ${file} (mode ${mode.toString(8).padStart(4, '0')}): chmod 600 it.`);
  } catch {
    // Read a moment ago: a file gone since has nothing to warn about.
  }
}

/** A secret from the file one option names, or standard input (without echo at a terminal); never from the command line. */
async function readSecret(inv: Invocation, o: { file: string; stdin: string; prompt: string; what: string }): Promise<string | undefined> {
  const file = typeof inv.values[o.file] === 'string' ? (inv.values[o.file] as string) : undefined;
  const fromStdin = inv.values[o.stdin] === true;
  if (file !== undefined && fromStdin) throw new UsageError(`give --${o.file} or --${o.stdin}, not both`);
  let secret: string;
  if (file !== undefined) {
    try {
      secret = stripNewline(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new CliError('File', `Cannot read the ${o.what} file ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'}).`);
    }
    warnIfShared(inv, file, o.what);
  } else if (fromStdin) {
    if (process.stdin.isTTY) secret = await readHidden(o.prompt);
    else {
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      secret = stripNewline(Buffer.concat(chunks).toString('utf8'));
    }
  } else {
    return undefined;
  }
  if (secret.length === 0) throw new UsageError(file !== undefined ? `the ${o.what} file ${file} is empty` : `no ${o.what} on standard input`);
  return secret;
}

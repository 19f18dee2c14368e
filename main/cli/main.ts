// The `kura` command. `serve` runs the appliance; the other commands talk to a running appliance's
// admin API (init, unseal, seal, status, credentials) or read its database (audit verify).
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { databaseFile, KURA_VERSION, startAppliance } from '../app.js';
import { AuditLog } from '../audit/audit-log.js';
import { systemClock } from '../common/clock.js';
import { createLogger } from '../common/log.js';
import { openStore } from '../store/index.js';
import { AdminCallError, AdminClient } from './admin-client.js';
import { ConfigError, ENV_HELP, resolveConfig, type ConfigFlags } from './config.js';

type Options = NonNullable<ParseArgsConfig['options']>;

const COMMON: Options = {
  help: { type: 'boolean', short: 'h' },
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  endpoint: { type: 'string' },
  json: { type: 'boolean' },
};

const SERVE: Options = {
  ...COMMON,
  host: { type: 'string' },
  port: { type: 'string' },
  dev: { type: 'boolean' },
  'log-level': { type: 'string' },
  'max-connections': { type: 'string' },
  'headers-timeout': { type: 'string' },
  'request-timeout': { type: 'string' },
  'idle-timeout': { type: 'string' },
};

const USAGE = `kura ${KURA_VERSION} — a key store appliance with an AWS KMS-compatible API

Usage: kura <command> [options]

Commands:
  serve                      run the appliance (KMS API on 127.0.0.1:7420)
  init                       make the root key and split it into custodian shares
  unseal [SHARE…]            give root key shares to a sealed appliance
  seal                       seal a running appliance (wipes keys from memory)
  status                     show whether the appliance is initialized and sealed
  credentials create|list|delete   manage API credentials (access keys)
  audit verify               check the audit log's hash chain

Run \`kura <command> --help\` for a command's options.
`;

const HELP: Record<string, string> = {
  serve: `Usage: kura serve [--dev] [--host H] [--port P] [--data-dir DIR] [--config FILE] [--log-level L]
                  [--max-connections N] [--headers-timeout S] [--request-timeout S] [--idle-timeout S]

Runs the appliance: the AWS KMS-compatible API at POST / and the admin API at /admin/v1/.
  --dev            dev mode: data in ./.kura-dev, root key in a 0600 file there (INSECURE),
                   unsealed at start, prints a dev credential as shell exports
  --host H         listen address (loopback only; default 127.0.0.1)
  --port P         listen port (default 7420; 0 picks a free port)
  --data-dir DIR   where the database and the admin token live
                   (default ~/.local/share/kura, or ./.kura-dev with --dev)
  --config FILE    JSON config file
  --log-level L    debug | info | warn | error (default info); logs are JSON lines on stderr
  --max-connections N    connections served at once; more are answered 503 and closed
                         (default: three quarters of the open-file limit less 64, at most 1024)
  --headers-timeout S    seconds a client has to send complete request headers (default 10)
  --request-timeout S    seconds a client has to send a complete request (default 30)
  --idle-timeout S       seconds a kept-alive connection may sit idle (default 5)
Stops gracefully on SIGINT/SIGTERM: idle and half-sent connections close at once, calls in
progress get 5 seconds to finish, the database closes cleanly.

${ENV_HELP}`,
  init: `Usage: kura init --shares N --threshold M [--out-dir DIR] [--endpoint URL] [--json]

Makes a 256-bit root key on the running appliance and splits it into N shares, any M of which unseal
it (Shamir). The root key is never stored; each share is shown once. Give one share to each custodian.
  --shares N       number of shares (1–255)
  --threshold M    shares needed to unseal (1–N)
  --out-dir DIR    write each share to DIR/share-<i>.txt (0600) instead of printing it
  --endpoint URL   the appliance (default http://127.0.0.1:7420 or KURA_ENDPOINT)
  --json           print {"threshold":M,"shares":[...]} (or the files written)`,
  unseal: `Usage: kura unseal [SHARE…] [--file F]… [--endpoint URL] [--json]

Gives root key shares to a sealed appliance. Shares come from the arguments, from --file (one share
per file), or one per line on standard input. A wrong share, a share of another root key or too few
shares are refused; the appliance stays sealed and forgets the shares given so far.`,
  seal: `Usage: kura seal [--data-dir DIR] [--endpoint URL] [--json]

Seals the running appliance: every key and credential secret is wiped from memory and every KMS call
fails until \`kura unseal\`. Needs the admin token from --data-dir (or KURA_ADMIN_TOKEN).`,
  status: `Usage: kura status [--endpoint URL] [--json]

Shows whether the appliance is initialized, sealed or unsealed, and unseal progress.`,
  credentials: `Usage:
  kura credentials create --account ID [--principal ARN] [--description TEXT] [--json]
  kura credentials list [--json]
  kura credentials delete ACCESS_KEY_ID

API credentials in AWS's formats (access key ID AKIA…, 40-character secret), each mapped to an
account and a principal ARN (default arn:aws:iam::<account>:root). The secret is shown once.
Needs the admin token from --data-dir (or KURA_ADMIN_TOKEN) and a running, unsealed appliance.`,
  audit: `Usage: kura audit verify [--data-dir DIR] [--json]

Reads the audit log from the data directory's database and checks its hash chain: a changed,
removed or reordered entry is reported with its sequence number, and the command exits 1.`,
};

class UsageError extends Error {}

function parse(command: string, argv: string[], options: Options) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n\n${HELP[command] ?? USAGE}`);
  }
}

const out = (line = ''): void => void process.stdout.write(`${line}\n`);
const err = (line = ''): void => void process.stderr.write(`${line}\n`);

function configFrom(values: Record<string, unknown>) {
  return resolveConfig(values as ConfigFlags);
}

async function serve(argv: string[]): Promise<number> {
  const { values } = parse('serve', argv, SERVE);
  if (values.help) return (out(HELP.serve), 0);
  const cfg = configFrom(values);
  const log = createLogger(cfg.logLevel);
  // Everything the appliance writes (database, WAL, tokens, the dev root key) is for its owner only.
  process.umask(0o077);
  // A stray rejection is a bug to fix, not a reason to drop every client: log it and keep serving.
  // Acknowledged writes are durable before they are acknowledged, so nothing depends on this.
  process.on('unhandledRejection', (e) => log.error('unhandled rejection', { error: e instanceof Error ? e.stack ?? e.name : typeof e }));
  // Signal handlers go in before anything is printed or started: a supervisor that sends SIGTERM as
  // soon as it reads the banner (or during start-up) must get a graceful stop, never the default kill.
  let stopSignal = '';
  const stopRequested = new Promise<void>((resolve) => {
    const onSignal = (signal: string) => {
      if (stopSignal) return;
      stopSignal = signal;
      resolve();
    };
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
  });
  const appliance = await startAppliance(cfg, { log });
  const status = await appliance.root.status();
  log.info('kura started', { endpoint: appliance.server.url, dataDir: cfg.dataDir, dev: cfg.dev, state: status.state, applianceId: appliance.applianceId });
  const url = appliance.server.url;
  // One write, so that whoever reads the banner (a user, a test, a supervisor) gets it whole.
  const banner: string[] = [];
  if (cfg.dev && appliance.devCredential) {
    banner.push(
      `Kura ${KURA_VERSION} is running in DEV MODE — insecure: the root key is in ${path.join(cfg.dataDir, 'root.key')}.`,
      `KMS endpoint: ${url}`,
      'Paste these lines into a shell to point the AWS CLI and SDKs at Kura:',
      `export AWS_ACCESS_KEY_ID=${appliance.devCredential.accessKeyId}`,
      `export AWS_SECRET_ACCESS_KEY=${appliance.devCredential.secretAccessKey}`,
      `export AWS_DEFAULT_REGION=us-east-1`,
      `export AWS_ENDPOINT_URL_KMS=${url}`,
      `Then: aws kms create-key   (Debian's older aws v2 needs --endpoint-url ${url})`,
      `Admin API: ${url}/admin/v1/status   (the operator console comes in a later release)`,
    );
  } else {
    banner.push(`Kura ${KURA_VERSION} listening on ${url} (${status.state}).`);
    if (status.state === 'uninitialized') banner.push(`Next: kura init --shares 5 --threshold 3 --endpoint ${url}`);
    if (status.state === 'sealed') banner.push(`Next: kura unseal --endpoint ${url}  (needs ${status.threshold} of ${status.shares} shares)`);
  }
  out(banner.join('\n'));
  await stopRequested;
  log.info('stopping', { signal: stopSignal });
  const force = setTimeout(() => {
    log.error('graceful stop timed out; exiting');
    process.exit(1);
  }, 15_000);
  force.unref();
  await appliance.stop().catch((e: unknown) => log.error('stop failed', { error: String(e) }));
  log.info('kura stopped');
  return 0;
}

function client(values: Record<string, unknown>): AdminClient {
  const cfg = configFrom(values);
  return new AdminClient(cfg.endpoint, cfg.dataDir);
}

interface StatusBody {
  state: string;
  mode: string | null;
  threshold: number | null;
  shares: number | null;
  progress: number;
  applianceId?: string;
}

function printStatus(s: StatusBody, json: boolean): void {
  if (json) return out(JSON.stringify(s));
  out(`State: ${s.state}${s.mode ? ` (${s.mode})` : ''}`);
  if (s.threshold !== null) out(`Shares: ${s.threshold} of ${s.shares} needed to unseal`);
  if (s.state === 'sealed' && s.progress) out(`Unseal progress: ${s.progress}/${s.threshold}`);
  if (s.applianceId) out(`Appliance: ${s.applianceId}`);
}

async function init(argv: string[]): Promise<number> {
  const { values } = parse('init', argv, { ...COMMON, shares: { type: 'string' }, threshold: { type: 'string' }, 'out-dir': { type: 'string' } });
  if (values.help) return (out(HELP.init), 0);
  const shares = Number(values.shares);
  const threshold = Number(values.threshold);
  if (!Number.isInteger(shares) || !Number.isInteger(threshold)) throw new UsageError(`--shares and --threshold are required whole numbers.\n\n${HELP.init}`);
  const r = await client(values).call<{ threshold: number; shares: string[] }>('POST', '/init', { threshold, shares });
  const outDir = values['out-dir'] as string | undefined;
  if (outDir) {
    fs.mkdirSync(outDir, { recursive: true, mode: 0o700 });
    const files = r.shares.map((s, i) => {
      const f = path.join(outDir, `share-${i + 1}.txt`);
      fs.writeFileSync(f, `${s}\n`, { mode: 0o600, flag: 'wx' });
      return f;
    });
    if (values.json) out(JSON.stringify({ threshold: r.threshold, files }));
    else {
      out(`Root key made and split: ${r.threshold} of ${r.shares.length} shares unseal it.`);
      for (const f of files) out(`  wrote ${f}`);
      out('Give each file to one custodian, then delete it here. Kura is sealed: run `kura unseal`.');
    }
    return 0;
  }
  if (values.json) return (out(JSON.stringify(r)), 0);
  out(`Root key made and split: ${r.threshold} of ${r.shares.length} shares unseal it.`);
  out('Each share is shown once. Give one to each custodian; Kura keeps no copy.');
  r.shares.forEach((s, i) => out(`Share ${i + 1}: ${s}`));
  out('Kura is sealed: run `kura unseal` with the shares.');
  return 0;
}

async function readStdinLines(): Promise<string[]> {
  if (process.stdin.isTTY) {
    err('Paste shares, one per line; finish with Ctrl-D.');
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks)
    .toString('utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
}

async function unseal(argv: string[]): Promise<number> {
  const { values, positionals } = parse('unseal', argv, { ...COMMON, file: { type: 'string', multiple: true } });
  if (values.help) return (out(HELP.unseal), 0);
  const shares = [...positionals];
  for (const f of (values.file as string[] | undefined) ?? []) shares.push(fs.readFileSync(f, 'utf8').trim());
  if (shares.length === 0) shares.push(...(await readStdinLines()));
  if (shares.length === 0) throw new UsageError(`No shares given.\n\n${HELP.unseal}`);
  const s = await client(values).call<StatusBody>('POST', '/unseal', { shares });
  if (values.json) out(JSON.stringify(s));
  else if (s.state === 'unsealed') out('Unsealed.');
  else out(`Share accepted: ${s.progress} of ${s.threshold} given; still sealed.`);
  return 0;
}

async function seal(argv: string[]): Promise<number> {
  const { values } = parse('seal', argv, COMMON);
  if (values.help) return (out(HELP.seal), 0);
  const s = await client(values).call<StatusBody>('POST', '/seal', undefined, true);
  printStatus(s, Boolean(values.json));
  return 0;
}

async function status(argv: string[]): Promise<number> {
  const { values } = parse('status', argv, COMMON);
  if (values.help) return (out(HELP.status), 0);
  printStatus(await client(values).call<StatusBody>('GET', '/status'), Boolean(values.json));
  return 0;
}

interface CredentialBody {
  accessKeyId: string;
  secretAccessKey?: string;
  accountId: string;
  principalArn: string;
  description: string;
  createdAt: number;
}

async function credentials(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values, positionals } = parse('credentials', rest, {
    ...COMMON,
    account: { type: 'string' },
    principal: { type: 'string' },
    description: { type: 'string' },
  });
  if (values.help || !sub || sub === '--help' || sub === '-h') return (out(HELP.credentials), 0);
  const c = client(values);
  if (sub === 'create') {
    if (!values.account) throw new UsageError(`--account is required.\n\n${HELP.credentials}`);
    const r = await c.call<CredentialBody>('POST', '/credentials', { accountId: values.account, principalArn: values.principal, description: values.description }, true);
    if (values.json) return (out(JSON.stringify(r)), 0);
    out(`Access key ID:     ${r.accessKeyId}`);
    out(`Secret access key: ${r.secretAccessKey}   (shown once)`);
    out(`Principal:         ${r.principalArn}`);
    return 0;
  }
  if (sub === 'list') {
    const r = await c.call<{ credentials: CredentialBody[] }>('GET', '/credentials', undefined, true);
    if (values.json) return (out(JSON.stringify(r.credentials)), 0);
    if (r.credentials.length === 0) out('No credentials.');
    for (const x of r.credentials) out(`${x.accessKeyId}  ${x.principalArn}  ${new Date(x.createdAt).toISOString()}  ${x.description}`);
    return 0;
  }
  if (sub === 'delete') {
    const id = positionals[0];
    if (!id) throw new UsageError(`Name the access key ID to delete.\n\n${HELP.credentials}`);
    await c.call('DELETE', `/credentials/${encodeURIComponent(id)}`, undefined, true);
    if (values.json) out(JSON.stringify({ deleted: id }));
    else out(`Deleted ${id}.`);
    return 0;
  }
  throw new UsageError(`Unknown credentials command "${sub}".\n\n${HELP.credentials}`);
}

async function audit(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const { values } = parse('audit', rest, COMMON);
  if (values.help || !sub || sub === '--help' || sub === '-h') return (out(HELP.audit), 0);
  if (sub !== 'verify') throw new UsageError(`Unknown audit command "${sub}".\n\n${HELP.audit}`);
  const cfg = configFrom(values);
  const file = databaseFile(cfg.dataDir);
  if (!fs.existsSync(file)) throw new ConfigError(`No Kura database at ${file}; pass --data-dir.`);
  const store = await openStore(file, { readonly: true });
  try {
    const log = new AuditLog({ db: store.db, repo: store.audit, clock: systemClock });
    const showProgress = !values.json && process.stderr.isTTY;
    const r = await log.verify((done, total) => {
      if (showProgress) process.stderr.write(`\rverifying ${done}/${total} entries`);
    });
    if (showProgress) process.stderr.write('\n');
    if (values.json) out(JSON.stringify(r));
    else if (r.ok) out(`Audit log intact: ${r.entries} entries; head ${r.head ?? '(empty)'}.`);
    else out(`Audit log BROKEN at entry ${r.firstBad!.seq}: ${r.firstBad!.reason}.`);
    return r.ok ? 0 : 1;
  } finally {
    await store.close();
  }
}

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { serve, init, unseal, seal, status, credentials, audit };

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    out(USAGE);
    return command ? 0 : 2;
  }
  if (command === '--version') return (out(KURA_VERSION), 0);
  const run = COMMANDS[command];
  if (!run) {
    err(`kura: unknown command "${command}".\n\n${USAGE}`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      err(`kura ${command}: ${e.message}`);
      return 2;
    }
    if (e instanceof ConfigError || e instanceof AdminCallError) {
      err(`kura ${command}: ${e.message}`);
      return 1;
    }
    err(`kura ${command}: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

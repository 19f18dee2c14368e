// `kura credentials create|list|delete|env|profile`: API credentials in AWS's formats, and pointing
// AWS clients at Kura with one of them (shell exports, or a profile in the AWS CLI's shared files).
// A secret is shown once, when it is made; only the dev credential's stays readable, in dev mode
// (dev-credential.ts), so env and profile take any other secret on standard input. Creating and
// deleting are credential changes: with a credentials quorum policy each becomes an approval request,
// and a credential made by one is shown to its requester by `kura approvals result ID`.
import { clientEnv, ensureGuardCa, exportLines, PROFILE_NAME_RE, shq, writeProfile, type ClientCredential } from '../aws-files.js';
import type { AdminClient } from '../admin-client.js';
import { CliError, CLIENT_OPTIONS, print, printErr, printJson, selfCommand, stringOption, UsageError, warn, type CommandSpec, type Invocation, type OptionSpec } from '../command.js';
import { signRequest } from '../../sigv4/sign.js';
import { readDevCredential } from '../dev-credential.js';
import { adminClient, locate } from '../locate.js';
import { gatedChange } from './approvals.js';
import { DEV_REGION } from './serve.js';

interface CredentialBody {
  accessKeyId: string;
  secretAccessKey?: string;
  accountId: string;
  principalArn: string;
  description: string;
  /** ISO 8601. */
  createdAt: string;
}

const SECRET_RE = /^[A-Za-z0-9+/]{40}$/;

async function create(inv: Invocation): Promise<number> {
  const account = stringOption(inv, 'account');
  if (!account) throw new UsageError('--account is required');
  const r = await gatedChange<CredentialBody>(inv, 'POST', '/credentials', {
    accountId: account,
    principalArn: stringOption(inv, 'principal'),
    description: stringOption(inv, 'description'),
  });
  if (!r) return 0;
  if (inv.json) return (printJson(r), 0);
  print(`Access key ID:     ${r.accessKeyId}`);
  print(`Secret access key: ${r.secretAccessKey}   (shown once)`);
  print(`Principal:         ${r.principalArn}`);
  print(`Created:           ${r.createdAt}`);
  return 0;
}

async function listCredentials(client: AdminClient): Promise<CredentialBody[]> {
  return (await client.call<{ credentials: CredentialBody[] }>('GET', '/credentials', undefined, true)).credentials;
}

async function list(inv: Invocation): Promise<number> {
  const credentials = await listCredentials(adminClient(inv));
  if (inv.json) return (printJson(credentials), 0);
  if (credentials.length === 0) print('No credentials.');
  for (const x of credentials) print(`${x.accessKeyId}  ${x.principalArn}  ${x.createdAt}  ${x.description}`);
  return 0;
}

async function del(inv: Invocation): Promise<number> {
  const id = inv.positionals[0];
  if (!id || inv.positionals.length > 1) throw new UsageError('name one access key ID');
  if (!(await gatedChange(inv, 'DELETE', `/credentials/${encodeURIComponent(id)}`, undefined))) return 0;
  if (inv.json) printJson({ deleted: id });
  else print(`Deleted ${id}.`);
  return 0;
}

async function readSecretFromStdin(): Promise<string> {
  if (process.stdin.isTTY) printErr('Secret access key (then Enter and Ctrl-D):');
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const secret = Buffer.concat(chunks).toString('utf8').trim();
  if (!SECRET_RE.test(secret)) throw new CliError('BadSecret', 'Standard input does not hold a secret access key (40 characters of A–Z, a–z, 0–9, + and /).');
  return secret;
}

/** The credential env and profile use: --access-key-id's (secret on stdin) or the dev credential. */
async function chooseCredential(inv: Invocation): Promise<{ credential: ClientCredential; summary: CredentialBody; endpoint: string; dataDir: string }> {
  const { dataDir } = locate(inv);
  const client = adminClient(inv);
  const dev = readDevCredential(dataDir);
  const accessKeyId = stringOption(inv, 'access-key-id') ?? dev?.accessKeyId;
  if (!accessKeyId) {
    throw new CliError(
      'NoCredential',
      `${dataDir} has no dev credential (only \`kura serve --dev\` keeps one). Name a credential with --access-key-id and give its secret on standard input with --secret-stdin.`,
    );
  }
  // The appliance must be running and know the credential, so that what is printed works.
  const summary = (await listCredentials(client)).find((c) => c.accessKeyId === accessKeyId);
  if (!summary) {
    const hint = dev?.accessKeyId === accessKeyId ? ' (the dev credential was deleted: restart the dev appliance to make a new one)' : '';
    throw new CliError('NotFound', `Kura at ${client.endpoint} has no credential ${accessKeyId}${hint}.`);
  }
  let secretAccessKey: string;
  if (inv.values['secret-stdin']) {
    secretAccessKey = await readSecretFromStdin();
    await checkSecret(client.endpoint, { accessKeyId, secretAccessKey }, givenRegion(inv) ?? DEV_REGION);
  } else if (dev && dev.accessKeyId === accessKeyId) secretAccessKey = dev.secretAccessKey;
  else throw new CliError('NoSecret', `Kura shows the secret of ${accessKeyId} only once, when it is made; give it on standard input with --secret-stdin.`);
  return { credential: { accessKeyId, secretAccessKey }, summary, endpoint: client.endpoint, dataDir };
}

/**
 * Refuses a secret the appliance does not take for the credential: a secret is pasted once, from where
 * it was shown, and a wrong one written to the profile or the exports surfaced only later, in the
 * application, as SignatureDoesNotMatch. One sts:GetCallerIdentity signed with it tells; only that
 * definite refusal fails the command (a sealed or unreachable appliance is no proof of a wrong secret).
 */
async function checkSecret(endpoint: string, credential: ClientCredential, region: string): Promise<void> {
  const body = 'Action=GetCallerIdentity&Version=2011-06-15';
  const headers = signRequest({
    method: 'POST',
    host: new URL(endpoint).host,
    path: '/',
    body,
    headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' },
    ...credential,
    region,
    service: 'sts',
    nowMs: Date.now(),
  });
  let answer: string;
  try {
    const res = await fetch(`${endpoint}/`, { method: 'POST', headers, body, signal: AbortSignal.timeout(10_000) });
    if (res.status !== 403) return;
    answer = await res.text();
  } catch {
    return;
  }
  if (/<Code>SignatureDoesNotMatch<\/Code>/.test(answer)) {
    throw new CliError(
      'WrongSecret',
      `Kura at ${endpoint} refused a call signed with the secret given for ${credential.accessKeyId}: it is not that credential's secret (check what was pasted).`,
    );
  }
}

/** --region, checked; undefined if not given. */
const givenRegion = (inv: Invocation): string | undefined => {
  const region = stringOption(inv, 'region');
  if (region !== undefined && !/^[a-z]{2}(-[a-z]+)+-\d$/.test(region)) throw new UsageError(`--region must be an AWS Region such as us-east-1, not "${region}"`);
  return region;
};

/**
 * The options given that the same command needs to print these lines again (`# Use: eval …`): without
 * them the hint finds another data directory or the dev credential. A secret is never among them:
 * --secret-stdin reads it again from the terminal, inside the $(…).
 */
function reuseFlags(inv: Invocation): string {
  const words: string[] = [];
  for (const name of ['data-dir', 'endpoint', 'config', 'access-key-id', 'region']) {
    const v = stringOption(inv, name);
    if (v !== undefined) words.push(`--${name}`, shq(v));
  }
  if (inv.values['secret-stdin']) words.push('--secret-stdin');
  return words.map((w) => ` ${w}`).join('');
}

const OLD_CLI_NOTE = [
  'AWS CLIs older than v2.13 and v1.29 (Debian 12\'s /usr/bin/aws 2.9.19 among them) ignore',
  'AWS_ENDPOINT_URL_KMS and would send the call to the real AWS KMS; AWS_CA_BUNDLE makes them fail',
  'before sending anything. With such a CLI pass the endpoint: aws --endpoint-url "$AWS_ENDPOINT_URL_KMS" kms …',
];

async function env(inv: Invocation): Promise<number> {
  const { credential, summary, endpoint, dataDir } = await chooseCredential(inv);
  const region = givenRegion(inv) ?? DEV_REGION;
  const guardCa = ensureGuardCa(dataDir);
  if (inv.json) return (printJson(clientEnv({ endpoint, region, credential, guardCa })), 0);
  print(
    [
      `# Kura at ${endpoint}, credential ${credential.accessKeyId} (${summary.principalArn}).`,
      `# Use: eval "$(${selfCommand()} credentials env${reuseFlags(inv)})"`,
      ...exportLines({ endpoint, region, credential, guardCa }),
      ...OLD_CLI_NOTE.map((l) => `# ${l}`),
    ].join('\n'),
  );
  return 0;
}

async function profile(inv: Invocation): Promise<number> {
  const name = inv.positionals[0];
  if (!name || inv.positionals.length > 1) throw new UsageError('name one profile, e.g. kura credentials profile kura');
  if (!PROFILE_NAME_RE.test(name)) throw new UsageError(`"${name}" is not a profile name (letters, digits, ".", "_" and "-")`);
  const { credential, endpoint } = await chooseCredential(inv);
  const given = givenRegion(inv);
  const written = writeProfile({ name, endpoint, ...(given !== undefined ? { region: given } : {}), defaultRegion: DEV_REGION, credential });
  // What the file holds: a region the profile had is kept unless --region replaced it.
  const { region } = written;
  // The environment beats the profile: say so when it would undo what was just written.
  const overridden = ['AWS_CA_BUNDLE', 'AWS_ENDPOINT_URL', 'AWS_ENDPOINT_URL_KMS'].filter((v) => process.env[v]);
  const overrideNote = (v: string) => `${v} is set in this environment and overrides the profile's setting.`;
  if (inv.json) {
    for (const v of overridden) warn(inv, 'EnvironmentOverride', overrideNote(v));
    printJson({ profile: name, endpoint, region, accessKeyId: credential.accessKeyId, configFile: written.configFile, credentialsFile: written.credentialsFile, caBundle: written.guardCa });
    return 0;
  }
  const section = name === 'default' ? '[default]' : `[profile ${name}]`;
  print(
    [
      `Wrote ${section} (region ${region}) and [services ${name}] in ${written.configFile}, and [${name}] in ${written.credentialsFile} (0600).`,
      `With AWS CLI v2.13+ or v1.29+:   aws --profile ${name} kms list-keys`,
      `With older CLIs (Debian 12's aws 2.9.19), which ignore the profile's endpoint and fail on its CA bundle`,
      `instead of calling AWS:           aws --profile ${name} --endpoint-url ${endpoint} kms list-keys`,
    ].join('\n'),
  );
  for (const v of overridden) printErr(`Note: ${overrideNote(v)}`);
  return 0;
}

const CHOOSE_OPTIONS: readonly OptionSpec[] = [
  { name: 'access-key-id', value: 'ID', help: 'the credential to use (default: the dev credential, in dev mode)' },
  { name: 'secret-stdin', help: 'read its secret access key from standard input (Kura shows a secret only once)' },
  { name: 'region', value: 'R', help: `the AWS Region clients sign for (default ${DEV_REGION})` },
];

export const credentials: CommandSpec = {
  name: 'credentials',
  summary: 'manage API credentials; point AWS clients at Kura (create|list|delete|env|profile)',
  description: `API credentials in AWS's formats (access key ID AKIA…, 40-character secret), each mapped to an
account and a principal ARN. They need the admin token from the data directory (or
KURA_ADMIN_TOKEN) and a running, unsealed appliance.`,
  options: [{ name: 'help', short: 'h', help: 'show this help and exit' }],
  subcommands: [
    {
      name: 'create',
      summary: 'make a credential; its secret is shown once',
      description: 'Makes a credential mapped to an account and a principal ARN (default arn:aws:iam::<account>:root). The secret is shown once.',
      options: [
        { name: 'account', value: 'ID', help: 'the 12-digit account ID, required' },
        { name: 'principal', value: 'ARN', help: 'the principal ARN (arn:aws:iam::<account>:user/<name>)' },
        { name: 'description', value: 'TEXT', help: 'a note shown by list' },
        ...CLIENT_OPTIONS,
      ],
      run: create,
    },
    {
      name: 'list',
      summary: 'list credentials (never their secrets)',
      description: 'Lists every credential: access key ID, principal, creation time (ISO 8601), description. Never a secret.',
      options: CLIENT_OPTIONS,
      run: list,
    },
    {
      name: 'delete',
      summary: 'delete a credential; calls signed with it fail at once',
      args: 'ACCESS_KEY_ID',
      description: 'Deletes a credential: calls signed with it fail with UnrecognizedClientException from then on.',
      options: CLIENT_OPTIONS,
      run: del,
    },
    {
      name: 'env',
      summary: 'print shell exports that point AWS clients at Kura',
      description: `Prints export lines for a shell: eval "$(kura credentials env)". They set the credential,
AWS_REGION and AWS_DEFAULT_REGION, AWS_ENDPOINT_URL_KMS and AWS_ENDPOINT_URL_STS (read by AWS CLI v2.13+
and v1.29+ and current SDKs), and AWS_CA_BUNDLE to a CA that no server chains to: a client too old to
read AWS_ENDPOINT_URL_KMS (Debian 12's aws 2.9.19) then fails TLS verification instead of sending the
call, plaintext included, to the real AWS KMS. With such a CLI pass --endpoint-url "$AWS_ENDPOINT_URL_KMS".
Uses the dev credential of a dev appliance, or --access-key-id with its secret on standard input.`,
      options: [...CHOOSE_OPTIONS, ...CLIENT_OPTIONS],
      run: env,
    },
    {
      name: 'profile',
      summary: 'write an AWS CLI profile that points at Kura',
      args: 'NAME',
      description: `Writes profile NAME for Kura: [profile NAME] (endpoint_url, services = NAME, ca_bundle, region, and
cli_follow_urlparam = false, so that AWS CLI v1 sends an https:// parameter such as
--xks-proxy-uri-endpoint as it is instead of fetching it) and
[services NAME] (kms and sts endpoint_url) in the AWS config file, and [NAME] (the credential) in the
AWS credentials file, made 0600. Honours AWS_CONFIG_FILE and AWS_SHARED_CREDENTIALS_FILE (default
~/.aws/config and ~/.aws/credentials). Other profiles are left alone; an existing profile NAME is
updated in place: --region replaces its region; without --region a region it has is kept (else ${DEV_REGION}).
Then: aws --profile NAME kms list-keys (AWS CLI v2.13+ / v1.29+).
Older CLIs (Debian 12's aws 2.9.19) ignore the profile's endpoint; its ca_bundle makes them fail
instead of calling AWS, and with them: aws --profile NAME --endpoint-url URL kms ….`,
      options: [...CHOOSE_OPTIONS, ...CLIENT_OPTIONS],
      run: profile,
    },
  ],
};

// Pointing AWS clients at Kura, with the real clients: the dev banner, `kura credentials env`
// (eval'd in bash) and `kura credentials profile` (written into AWS_CONFIG_FILE and
// AWS_SHARED_CREDENTIALS_FILE in a temporary directory, never the real home), used by the newer
// `aws` on PATH (v1 ≥ 1.29 reads AWS_ENDPOINT_URL_KMS and profile endpoints), the JavaScript SDK,
// and Debian's aws 2.9.19, which ignores both. A fake "AWS" behind an HTTPS proxy shows what that
// CLI does with only the exports: it sends the call, plaintext included, to kms.us-east-1.amazonaws.com,
// unless the guard CA bundle makes it fail before any byte of the request leaves.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsCli, DEBIAN_AWS } from '../support/aws-cli.js';
import { KURA_BIN, ROOT, isolatedEnv, runKura, tempDataDir } from '../support/kura-process.js';

const TIMEOUT_MS = 60_000;
const cli = new AwsCli('kura-cli-aws-', TIMEOUT_MS);
const home = tempDataDir('kura-cli-aws-home-');
const awsDir = path.join(home, 'aws-files');
const configFile = path.join(awsDir, 'config');
const credentialsFile = path.join(awsDir, 'credentials');
const bin = tempDataDir('kura-cli-aws-bin-');
let newerAws = '';

/** The environment of every client here: no AWS_* or proxy settings of the machine, HOME a temporary directory, `kura` on PATH. */
function clientEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('AWS_') && !/^(https?|no|all)_proxy$/i.test(k)));
  return {
    ...inherited,
    ...isolatedEnv(home),
    PATH: `${bin}:${process.env.PATH}`,
    AWS_CONFIG_FILE: configFile,
    AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
    AWS_PAGER: '',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_RETRY_MODE: 'standard',
    AWS_MAX_ATTEMPTS: '1',
    ...extra,
  };
}

/**
 * For `kura` run through runKura, which starts from process.env: the machine's AWS_* and proxy
 * variables blanked. (Never for AWS clients: an empty AWS_CA_BUNDLE turns off their TLS checks.)
 */
function kuraEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const blanks = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('AWS_') || /^(https?|no|all)_proxy$/i.test(k)).map((k) => [k, '']));
  return { ...blanks, ...clientEnv(extra) };
}

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a bash script with clientEnv() and `input` on standard input; never throws. */
const bash = (script: string, extra: NodeJS.ProcessEnv = {}, input?: string): Promise<Ran> =>
  new Promise((resolve) => {
    const child = execFile('bash', ['-c', script], { env: clientEnv(extra), cwd: home, timeout: TIMEOUT_MS }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : null) : 0, stdout, stderr });
    });
    child.stdin?.end(input ?? '');
  });

const ok = (r: Ran, what: string): string => {
  if (r.code !== 0) throw new Error(`${what} → exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r.stdout;
};

/**
 * An HTTPS proxy in front of a fake kms.us-east-1.amazonaws.com (a certificate made here, trusted by
 * nobody unless told): records where clients ask to go, and what they send once TLS is up.
 */
class FakeAws {
  connects: string[] = [];
  received = '';
  private server: net.Server | undefined;
  readonly cert: string;
  private readonly key: string;
  port = 0;

  constructor(dir: string) {
    this.key = path.join(dir, 'fake-aws.key');
    this.cert = path.join(dir, 'fake-aws.pem');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '1',
      '-keyout', this.key, '-out', this.cert, '-subj', '/CN=kms.us-east-1.amazonaws.com', '-addext', 'subjectAltName=DNS:kms.us-east-1.amazonaws.com',
    ], { stdio: 'ignore' });
  }

  async start(): Promise<void> {
    const context = tls.createSecureContext({ key: fs.readFileSync(this.key), cert: fs.readFileSync(this.cert) });
    this.server = net.createServer((socket) => {
      socket.on('error', () => undefined);
      let head = '';
      const onData = (d: Buffer) => {
        head += d.toString('latin1');
        if (!head.includes('\r\n\r\n')) return;
        socket.off('data', onData);
        this.connects.push(head.split('\r\n')[0]!);
        socket.write('HTTP/1.1 200 Connection established\r\n\r\n', () => {
          const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: context });
          secure.on('error', () => socket.destroy());
          secure.on('data', (chunk: Buffer) => {
            this.received += chunk.toString('latin1');
            // Enough seen: the client need not wait for an answer.
            secure.destroy();
          });
        });
      };
      socket.on('data', onData);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  reset(): void {
    this.connects = [];
    this.received = '';
  }

  stop(): void {
    this.server?.close();
  }
}

const fake = new FakeAws(tempDataDir('kura-cli-fake-aws-'));

beforeAll(async () => {
  await cli.start();
  fs.writeFileSync(path.join(bin, 'kura'), `#!/bin/sh\nexec "${process.execPath}" "${KURA_BIN}" "$@"\n`, { mode: 0o755 });
  fs.mkdirSync(awsDir, { recursive: true });
  await fake.start();
  const found = await cli.findNewerAws();
  if (found === undefined) throw new Error(`No AWS CLI other than Debian's ${DEBIAN_AWS} is on PATH; these tests need one that reads AWS_ENDPOINT_URL_KMS (v1.29+ or v2.13+).`);
  newerAws = found;
});
afterAll(async () => {
  fake.stop();
  await cli.stop();
});

/** `kura credentials env` for the test appliance, as a shell runs it. */
const evalEnv = () => `eval "$(kura credentials env --data-dir '${cli.kura.dataDir}')" || exit 9`;

describe('the AWS CLI versions', () => {
  it('Debian\'s is 2.9.19 (before endpoint variables and profile endpoints); the newer one reads them', async () => {
    expect(ok(await bash(`${DEBIAN_AWS} --version`), 'debian --version')).toMatch(/^aws-cli\/2\.9\.19 /);
    const v = ok(await bash(`'${newerAws}' --version`), 'newer --version');
    const m = /^aws-cli\/(\d+)\.(\d+)\.\d+/.exec(v)!;
    const [major, minor] = [Number(m[1]), Number(m[2])];
    expect(major === 1 ? minor >= 29 : major === 2 && minor >= 13).toBe(true);
  });
});

describe('the dev banner', () => {
  it('exports AWS_REGION beside AWS_DEFAULT_REGION, warns about older CLIs, offers env and profile', () => {
    const out = cli.kura.stdout();
    expect(out).toMatch(/^export AWS_REGION=us-east-1$/m);
    expect(out).toMatch(/^export AWS_DEFAULT_REGION=us-east-1$/m);
    expect(out).toMatch(/^export AWS_CA_BUNDLE=\S+kura-aws-guard-ca\.pem$/m);
    expect(out).toMatch(/^WARNING: .*2\.9\.19/m);
    expect(out).toContain('plaintext included');
    // This appliance's data directory is not ./.kura-dev, so its commands name it.
    expect(out).toContain(`credentials env --data-dir ${cli.kura.dataDir})"`);
    expect(out).toContain(`credentials profile kura --data-dir ${cli.kura.dataDir}`);
    expect(out).toContain(`/usr/bin/aws --endpoint-url ${cli.kura.url} kms list-keys`);
  });
});

describe('kura credentials env', () => {
  it('prints exports that the newer aws, the JS SDK and (with --endpoint-url) Debian\'s aws use', async () => {
    const text = await runKura(['credentials', 'env', '--data-dir', cli.kura.dataDir], { env: kuraEnv() });
    expect(text.code).toBe(0);
    for (const v of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_ENDPOINT_URL_KMS', 'AWS_CA_BUNDLE']) {
      expect(text.stdout).toMatch(new RegExp(`^export ${v}=\\S+$`, 'm'));
    }
    expect(text.stdout).toContain(`export AWS_SECRET_ACCESS_KEY=${cli.kura.secretAccessKey}`);
    const json = JSON.parse((await runKura(['credentials', 'env', '--data-dir', cli.kura.dataDir, '--json'], { env: kuraEnv() })).stdout) as Record<string, string>;
    expect(json).toMatchObject({ AWS_ACCESS_KEY_ID: cli.kura.accessKeyId, AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL_KMS: cli.kura.url });

    // A shell still holding an SSO session's token: the exports unset it (it would be refused with Kura's key).
    const stale = 'export AWS_SESSION_TOKEN=stale-sso-session AWS_SECURITY_TOKEN=stale-sso-session';
    const created = JSON.parse(ok(await bash(`${stale}; ${evalEnv()}; '${newerAws}' --output json kms create-key --description via-env`), 'newer aws with the exports')) as {
      KeyMetadata: { Arn: string };
    };
    expect(created.KeyMetadata.Arn).toMatch(/^arn:aws:kms:us-east-1:111122223333:key\//);
    const sdk = ok(
      await bash(
        `${evalEnv()}; cd '${ROOT}' && node --input-type=module -e "import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms'; const r = await new KMSClient({}).send(new ListKeysCommand({})); console.log(JSON.stringify(r.Keys));"`,
      ),
      'JS SDK with the exports',
    );
    expect(sdk).toContain(created.KeyMetadata.Arn.split('/')[1]);
    const debian = JSON.parse(ok(await bash(`${evalEnv()}; ${DEBIAN_AWS} --output json --endpoint-url "$AWS_ENDPOINT_URL_KMS" kms list-keys`), 'Debian aws with --endpoint-url')) as {
      Keys: { KeyArn: string }[];
    };
    expect(debian.Keys.map((k) => k.KeyArn)).toContain(created.KeyMetadata.Arn);
  });

  it('the "# Use:" line it prints repeats the options that matter, never the secret, and works as shown', async () => {
    const made = JSON.parse(
      ok(await bash(`kura credentials create --data-dir '${cli.kura.dataDir}' --account 123456789012 --principal arn:aws:iam::123456789012:user/env --json`), 'create'),
    ) as { accessKeyId: string; secretAccessKey: string };
    const r = await runKura(['credentials', 'env', '--access-key-id', made.accessKeyId, '--secret-stdin', '--region', 'eu-west-1', '--data-dir', cli.kura.dataDir], {
      env: kuraEnv(),
      input: `${made.secretAccessKey}\n`,
    });
    expect(r.code, r.stderr).toBe(0);
    const use = /^# Use: (eval .*)$/m.exec(r.stdout)![1]!;
    expect(use).toMatch(new RegExp(` credentials env --data-dir \\S+ --access-key-id ${made.accessKeyId} --region eu-west-1 --secret-stdin\\)"$`));
    expect(use).not.toContain(made.secretAccessKey);
    // Run as shown (where kura ran: the line may name bin/kura.js relative to it), the secret given again.
    const shown = ok(await bash(`cd '${ROOT}' && ${use} && echo "$AWS_ACCESS_KEY_ID $AWS_REGION"`, {}, `${made.secretAccessKey}\n`), 'the Use line');
    expect(shown.trim()).toBe(`${made.accessKeyId} eu-west-1`);
  });

  it('Debian\'s aws with only the exports heads for the real AWS KMS; the CA bundle guard stops it before the request', async () => {
    const secret = randomBytes(24);
    const secretFile = path.join(home, 'secret.bin');
    fs.writeFileSync(secretFile, secret);
    const encrypt = `${DEBIAN_AWS} kms encrypt --key-id alias/demo --plaintext fileb://${secretFile}`;
    const proxy = { HTTPS_PROXY: `http://127.0.0.1:${fake.port}` };

    fake.reset();
    const guarded = await bash(`${evalEnv()}; ${encrypt}`, proxy);
    expect(guarded.code).not.toBe(0);
    expect(fake.connects).toEqual(['CONNECT kms.us-east-1.amazonaws.com:443 HTTP/1.0']);
    expect(guarded.stderr).toMatch(/SSL validation failed for https:\/\/kms\.us-east-1\.amazonaws\.com\/.*certificate verify failed/);
    expect(fake.received).toBe('');

    // Without the guard (a CA bundle that trusts the fake AWS, as the real one would be trusted), the
    // request goes out with the plaintext in it: what the pasted exports alone used to do.
    fake.reset();
    const unguarded = await bash(`${evalEnv()}; export AWS_CA_BUNDLE='${fake.cert}'; ${encrypt}`, proxy);
    expect(unguarded.code).not.toBe(0);
    expect(fake.connects).toEqual(['CONNECT kms.us-east-1.amazonaws.com:443 HTTP/1.0']);
    expect(fake.received).toContain('X-Amz-Target: TrentService.Encrypt');
    expect(fake.received).toContain(secret.toString('base64'));
  });
});

describe('kura credentials profile', () => {
  const otherConfig = '[default]\nregion = eu-west-1\n\n# work account\n[profile work]\nregion = eu-central-1\noutput = text\n';
  const otherCredentials = '[default]\naws_access_key_id = AKIADEFAULTDEFAULT12\naws_secret_access_key = default-secret\n\n[work]\naws_access_key_id = AKIAWORKWORKWORKWORK\naws_secret_access_key = work-secret\n';
  const profile = (args: string[] = [], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) =>
    runKura(['credentials', 'profile', 'kura', '--data-dir', cli.kura.dataDir, ...args], { env: kuraEnv(opts.env), ...(opts.input !== undefined ? { input: opts.input } : {}) });

  beforeAll(() => {
    fs.writeFileSync(configFile, otherConfig);
    fs.writeFileSync(credentialsFile, otherCredentials, { mode: 0o644 });
  });

  it('writes [profile kura], [services kura] and [kura] beside the other profiles, the credentials file 0600', async () => {
    const r = await profile();
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`aws --profile kura --endpoint-url ${cli.kura.url} kms list-keys`);
    const config = fs.readFileSync(configFile, 'utf8');
    expect(config.startsWith(otherConfig)).toBe(true);
    expect(config.slice(otherConfig.length)).toBe(
      `\n[profile kura]\nendpoint_url = ${cli.kura.url}\nservices = kura\nca_bundle = ${path.join(awsDir, 'kura-aws-guard-ca.pem')}\ncli_follow_urlparam = false\nregion = us-east-1\n\n` +
        `[services kura]\nkms =\n  endpoint_url = ${cli.kura.url}\nsts =\n  endpoint_url = ${cli.kura.url}\n`,
    );
    const credentials = fs.readFileSync(credentialsFile, 'utf8');
    expect(credentials).toBe(`${otherCredentials}\n[kura]\naws_access_key_id = ${cli.kura.accessKeyId}\naws_secret_access_key = ${cli.kura.secretAccessKey}\n`);
    expect(fs.statSync(credentialsFile).mode & 0o777).toBe(0o600);
  });

  it('aws --profile kura works with the newer CLI (KMS and STS), and with the JS SDK', async () => {
    const keys = JSON.parse(ok(await bash(`'${newerAws}' --output json --profile kura kms list-keys`), 'newer aws --profile kura')) as { Keys: unknown[] };
    expect(Array.isArray(keys.Keys)).toBe(true);
    const who = JSON.parse(ok(await bash(`'${newerAws}' --output json --profile kura sts get-caller-identity`), 'sts via the profile')) as { Arn: string };
    expect(who.Arn).toBe('arn:aws:iam::111122223333:user/kura-dev');
    const sdk = ok(
      await bash(
        `cd '${ROOT}' && AWS_PROFILE=kura node --input-type=module -e "import { KMSClient, ListKeysCommand } from '@aws-sdk/client-kms'; const r = await new KMSClient({}).send(new ListKeysCommand({})); console.log(r.\\$metadata.httpStatusCode);"`,
      ),
      'JS SDK with AWS_PROFILE=kura',
    );
    expect(sdk.trim()).toBe('200');
  });

  it('the newer aws (v1 here) sends an https:// parameter as it is through the profile, instead of fetching it', async () => {
    // v1 fetches a parameter value starting with https:// unless the profile says cli_follow_urlparam = false.
    // The host is in .invalid (RFC 2606: it never resolves), so the call fails either way; the question is
    // whether Kura got the URL (and failed to reach that proxy) or the CLI failed to fetch it.
    const made = await bash(
      `'${newerAws}' --profile kura kms create-custom-key-store --custom-key-store-name via-profile --custom-key-store-type EXTERNAL_KEY_STORE ` +
        '--xks-proxy-connectivity PUBLIC_ENDPOINT --xks-proxy-uri-endpoint https://xks.kura-test.invalid --xks-proxy-uri-path /kms/xks/v1 ' +
        `--xks-proxy-authentication-credential AccessKeyId=ABCDEFGHIJKLMNOPQRST,RawSecretAccessKey=${'A'.repeat(43)}`,
    );
    expect(made.stderr).not.toContain('Unable to retrieve');
    expect(made.stderr).toContain('(XksProxyUriUnreachableException) when calling the CreateCustomKeyStore operation');
  });

  it('Debian\'s aws ignores the profile\'s endpoint: it works with --endpoint-url, and fails closed without', async () => {
    const listed = JSON.parse(ok(await bash(`${DEBIAN_AWS} --output json --profile kura --endpoint-url ${cli.kura.url} kms list-keys`), 'Debian aws --profile --endpoint-url')) as {
      Keys: unknown[];
    };
    expect(Array.isArray(listed.Keys)).toBe(true);
    fake.reset();
    const r = await bash(`${DEBIAN_AWS} --profile kura kms encrypt --key-id alias/demo --plaintext fileb://${path.join(home, 'secret.bin')}`, {
      HTTPS_PROXY: `http://127.0.0.1:${fake.port}`,
    });
    expect(r.code).not.toBe(0);
    expect(fake.connects).toEqual(['CONNECT kms.us-east-1.amazonaws.com:443 HTTP/1.0']);
    expect(r.stderr).toContain('certificate verify failed');
    expect(fake.received).toBe('');
  });

  it('runs again in place: another credential (secret on stdin) replaces [kura], the user\'s own keys and other profiles stay', async () => {
    // The user's own setting in Kura's profile section survives the update.
    const config = fs.readFileSync(configFile, 'utf8');
    fs.writeFileSync(configFile, config.replace('region = us-east-1\n', 'region = us-east-1\noutput = table\n'));
    const made = JSON.parse(
      ok(await bash(`kura credentials create --data-dir '${cli.kura.dataDir}' --account 123456789012 --principal arn:aws:iam::123456789012:user/app --json`), 'create'),
    ) as { accessKeyId: string; secretAccessKey: string };
    const refused = await profile(['--access-key-id', made.accessKeyId]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`Kura shows the secret of ${made.accessKeyId} only once`);
    const badSecret = await profile(['--access-key-id', made.accessKeyId, '--secret-stdin'], { input: 'not a secret\n' });
    expect(badSecret.code).toBe(1);
    // A well-formed secret that is not this credential's (a paste of another): refused, nothing written.
    const before = fs.readFileSync(credentialsFile, 'utf8');
    const wrongSecret = await profile(['--access-key-id', made.accessKeyId, '--secret-stdin'], { input: `${'w'.repeat(40)}\n` });
    expect(wrongSecret.code).toBe(1);
    expect(wrongSecret.stderr).toContain(`refused a call signed with the secret given for ${made.accessKeyId}: it is not that credential's secret`);
    expect(fs.readFileSync(credentialsFile, 'utf8')).toBe(before);
    const r = await profile(['--access-key-id', made.accessKeyId, '--secret-stdin'], { input: `${made.secretAccessKey}\n` });
    expect(r.code, r.stderr).toBe(0);
    const after = fs.readFileSync(configFile, 'utf8');
    expect(after.startsWith(otherConfig)).toBe(true);
    expect(after.match(/^\[profile kura\]$/gm)).toHaveLength(1);
    expect(after.match(/^\[services kura\]$/gm)).toHaveLength(1);
    expect(after).toMatch(/^\[profile kura\]\n(?:[^[].*\n)*output = table\n/m);
    const credentials = fs.readFileSync(credentialsFile, 'utf8');
    expect(credentials).toBe(`${otherCredentials}\n[kura]\naws_access_key_id = ${made.accessKeyId}\naws_secret_access_key = ${made.secretAccessKey}\n`);
    const who = JSON.parse(ok(await bash(`'${newerAws}' --output json --profile kura sts get-caller-identity`), 'sts with the new credential')) as { Arn: string };
    expect(who.Arn).toBe('arn:aws:iam::123456789012:user/app');
  });

  it('--region replaces the profile\'s region; without it the region there is kept; both outputs say what the file holds', async () => {
    const regionInFile = () => /^\[profile kura\]\n(?:[^[].*\n)*?region = (\S+)$/m.exec(fs.readFileSync(configFile, 'utf8'))?.[1];
    expect(regionInFile()).toBe('us-east-1');
    const replaced = await profile(['--region', 'eu-west-1', '--json']);
    expect(replaced.code, replaced.stderr).toBe(0);
    expect(JSON.parse(replaced.stdout)).toMatchObject({ region: 'eu-west-1' });
    expect(regionInFile()).toBe('eu-west-1');
    const kept = await profile(['--json']);
    expect(JSON.parse(kept.stdout)).toMatchObject({ region: 'eu-west-1' });
    expect(regionInFile()).toBe('eu-west-1');
    const text = await profile();
    expect(text.stdout).toContain('[profile kura] (region eu-west-1)');
    const back = await profile(['--region', 'us-east-1']);
    expect(back.stdout).toContain('[profile kura] (region us-east-1)');
    expect(regionInFile()).toBe('us-east-1');
  });

  it('says when the environment would override the profile', async () => {
    const r = await profile([], { env: { AWS_CA_BUNDLE: '/etc/ssl/certs/ca-certificates.crt' } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("Note: AWS_CA_BUNDLE is set in this environment and overrides the profile's setting.");
    const json = await profile(['--json'], { env: { AWS_CA_BUNDLE: '/etc/ssl/certs/ca-certificates.crt' } });
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stderr)).toEqual({ warning: { code: 'EnvironmentOverride', message: "AWS_CA_BUNDLE is set in this environment and overrides the profile's setting." } });
  });

  it('refuses a name that is not a profile name', async () => {
    const r = await runKura(['credentials', 'profile', 'my profile', '--data-dir', cli.kura.dataDir], { env: kuraEnv() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"my profile" is not a profile name');
  });
});

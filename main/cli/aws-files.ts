// Pointing AWS clients at Kura: the shell exports of `kura credentials env` and the profile that
// `kura credentials profile` writes into the AWS CLI's shared files (~/.aws/config and
// ~/.aws/credentials, or AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE).
//
// The endpoint guard. AWS CLIs and SDKs older than the "service-specific endpoints" feature (AWS CLI
// v2.13.0 and v1.29.0, botocore 1.31.0, July 2023) ignore AWS_ENDPOINT_URL_KMS and a profile's
// endpoint_url / services section: Debian 12's aws 2.9.19 sends the call, plaintext included, to
// https://kms.<region>.amazonaws.com. So the exports and the profile also name a CA bundle
// (AWS_CA_BUNDLE / ca_bundle) holding one self-signed CA certificate that no server chains to and
// whose private key was discarded when it was made: a client that goes to AWS instead of Kura fails
// TLS certificate verification before it sends any request byte, while Kura's plain-http loopback
// endpoint never consults a CA bundle. The file exists and parses, so SDKs that load AWS_CA_BUNDLE
// eagerly (the Go SDK) still work against Kura. An AWS_CA_BUNDLE in the environment overrides a
// profile's ca_bundle, which `kura credentials profile` warns about.
//
// Profiles are edited in place: only the three sections Kura owns ([profile NAME], [services NAME]
// in the config file, [NAME] in the credentials file) change; every other line stays as it was.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError } from './command.js';

/**
 * Made with `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout /dev/null
 * -days 36500 -subj "/O=Kura/OU=no server chains to this CA/CN=Kura AWS endpoint guard"`; the key
 * went to /dev/null, so nothing can ever be signed by it.
 */
const GUARD_CA_PEM = `-----BEGIN CERTIFICATE-----
MIICFTCCAbugAwIBAgIUU6QMgnrPzZUlY1v5ozSKYo9RBpUwCgYIKoZIzj0EAwIw
VzENMAsGA1UECgwES3VyYTEkMCIGA1UECwwbbm8gc2VydmVyIGNoYWlucyB0byB0
aGlzIENBMSAwHgYDVQQDDBdLdXJhIEFXUyBlbmRwb2ludCBndWFyZDAgFw0yNjEy
MDUyMzEwMjBaGA8yMTI2MTExMTIzMTAyMFowVzENMAsGA1UECgwES3VyYTEkMCIG
A1UECwwbbm8gc2VydmVyIGNoYWlucyB0byB0aGlzIENBMSAwHgYDVQQDDBdLdXJh
IEFXUyBlbmRwb2ludCBndWFyZDBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABArH
fr8S//WrXXfds8JL+cJGLALzqSyk1vwdbYV4IyNPCahb7NUF/sgNyuOsjupgft3F
oHpSp8iSM3886/QbIqWjYzBhMB0GA1UdDgQWBBTXI/L4+F1QR+g87JMmWSOCpyzN
wjAfBgNVHSMEGDAWgBTXI/L4+F1QR+g87JMmWSOCpyzNwjAPBgNVHRMBAf8EBTAD
AQH/MA4GA1UdDwEB/wQEAwICBDAKBggqhkjOPQQDAgNIADBFAiBa+oBArbZcvNya
FVZYPlEWd5q389CeCcGiMhLoLRfjIQIhAMG+RLZcMsfeprMnrjk/0dcFgsKYp1Om
Cm0lnaWbDQol
-----END CERTIFICATE-----
`;

export const GUARD_CA_FILE_NAME = 'kura-aws-guard-ca.pem';

/** Writes the guard CA bundle into `dir` (unless it is already there) and returns its path. */
export function ensureGuardCa(dir: string): string {
  const file = path.join(dir, GUARD_CA_FILE_NAME);
  let current: string | undefined;
  try {
    current = fs.readFileSync(file, 'utf8');
  } catch {
    // absent: written below
  }
  if (current !== GUARD_CA_PEM) writeFileAtomic(file, GUARD_CA_PEM, 0o644);
  return file;
}

export interface ClientCredential {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Single-quoted for sh, so that no value is ever expanded by the shell that evals the lines. */
export const shq = (v: string): string => (/^[\w@%+=:,./-]+$/.test(v) ? v : `'${v.replaceAll("'", `'\\''`)}'`);

/** The environment that points AWS clients at Kura (`kura credentials env`). */
export function clientEnv(o: { endpoint: string; region: string; credential: ClientCredential; guardCa: string }): Record<string, string> {
  return {
    AWS_ACCESS_KEY_ID: o.credential.accessKeyId,
    AWS_SECRET_ACCESS_KEY: o.credential.secretAccessKey,
    // The JavaScript SDKs read only AWS_REGION; the AWS CLI and Python read AWS_DEFAULT_REGION too.
    AWS_REGION: o.region,
    AWS_DEFAULT_REGION: o.region,
    AWS_ENDPOINT_URL_KMS: o.endpoint,
    AWS_ENDPOINT_URL_STS: o.endpoint,
    AWS_CA_BUNDLE: o.guardCa,
  };
}

/**
 * The same as export lines for a shell (eval "$(kura credentials env)"). A session token left in the
 * shell (from SSO or an assumed role) would be sent with Kura's key and refused
 * (UnrecognizedClientException, as AWS does), so the lines unset it; botocore also reads the older name.
 */
export function exportLines(o: { endpoint: string; region: string; credential: ClientCredential; guardCa: string }): string[] {
  return [...Object.entries(clientEnv(o)).map(([k, v]) => `export ${k}=${shq(v)}`), 'unset AWS_SESSION_TOKEN AWS_SECURITY_TOKEN'];
}

export function awsConfigFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_CONFIG_FILE || path.join(os.homedir(), '.aws', 'config');
}

export function awsCredentialsFile(env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_SHARED_CREDENTIALS_FILE || path.join(os.homedir(), '.aws', 'credentials');
}

export const PROFILE_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

const HEADER = /^\s*\[\s*([^\]]+?)\s*\]\s*(?:[#;].*)?$/;
const KEY = /^([^\s=#;][^=]*?)\s*=/;

interface Section {
  /** Index of the header line. */
  start: number;
  /** Index after the section's last line. */
  end: number;
}

function findSection(lines: string[], name: string): Section | undefined {
  for (let i = 0; i < lines.length; i++) {
    const m = HEADER.exec(lines[i]!);
    if (!m || m[1]!.replace(/\s+/g, ' ') !== name) continue;
    let end = i + 1;
    while (end < lines.length && !HEADER.exec(lines[end]!)) end++;
    return { start: i, end };
  }
  return undefined;
}

/**
 * Sets keys of a section in INI text, leaving every other line alone. `set` replaces a key's line
 * (and its indented sub-lines) or adds it; `setIfAbsent` only adds; `remove` deletes; with
 * `replaceBody` the section's body becomes exactly `body`. A missing section is appended.
 */
export function editIni(
  text: string,
  name: string,
  change: { set?: [string, string][]; setIfAbsent?: [string, string][]; remove?: string[]; replaceBody?: string[] },
): string {
  const lines = text === '' ? [] : text.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n');
  let section = findSection(lines, name);
  if (!section) {
    while (lines.length && lines[lines.length - 1]!.trim() === '') lines.pop();
    if (lines.length) lines.push('');
    lines.push(`[${name}]`);
    section = { start: lines.length - 1, end: lines.length };
  }
  let body = lines.slice(section.start + 1, section.end);
  // Keep the blank lines between this section and the next where they were.
  let trailing = 0;
  while (trailing < body.length && body[body.length - 1 - trailing]!.trim() === '') trailing++;
  const blanks = body.splice(body.length - trailing, trailing);
  if (change.replaceBody) body = [...change.replaceBody];
  const keyAt = (key: string): number => body.findIndex((l) => KEY.exec(l)?.[1] === key);
  /** The key's line and its indented continuation lines. */
  const spanAt = (i: number): number => {
    let n = 1;
    while (i + n < body.length && /^\s+\S/.test(body[i + n]!)) n++;
    return n;
  };
  for (const key of change.remove ?? []) {
    const i = keyAt(key);
    if (i !== -1) body.splice(i, spanAt(i));
  }
  for (const [key, value] of change.set ?? []) {
    const i = keyAt(key);
    const line = `${key} = ${value}`;
    if (i === -1) body.push(line);
    else body.splice(i, spanAt(i), line);
  }
  for (const [key, value] of change.setIfAbsent ?? []) if (keyAt(key) === -1) body.push(`${key} = ${value}`);
  lines.splice(section.start + 1, section.end - section.start - 1, ...body, ...blanks);
  return `${lines.join('\n')}\n`;
}

/**
 * Writes through a temporary file and a rename, so a reader never sees half a file; follows a symlink
 * (the file's, which its owner made). The temporary file is created, never opened if it is there
 * already (O_EXCL, which also refuses a symlink): its name can be guessed, and in a directory others
 * can write to, a link planted under it would have had the credentials written where it points.
 */
export function writeFileAtomic(file: string, text: string, mode: number): void {
  let target = file;
  try {
    target = fs.realpathSync(file);
  } catch {
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  }
  const tmp = `${target}.kura-${process.pid}.tmp`;
  let fd: number;
  try {
    fd = fs.openSync(tmp, 'wx', mode);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    throw new CliError('File', `Cannot write ${target}: ${tmp} is in the way (left by another process, or put there by someone else); remove it and try again.`);
  }
  try {
    fs.fchmodSync(fd, mode);
    fs.writeFileSync(fd, text);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw e;
  }
  fs.closeSync(fd);
  fs.renameSync(tmp, target);
}

function readIfExists(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw e;
  }
}

/** The value of `key` in section `name` of INI text, or undefined (no such section or key). */
export function iniValue(text: string, name: string, key: string): string | undefined {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const section = findSection(lines, name);
  if (!section) return undefined;
  for (const l of lines.slice(section.start + 1, section.end)) {
    if (KEY.exec(l)?.[1] === key) return l.slice(l.indexOf('=') + 1).trim();
  }
  return undefined;
}

/**
 * Writes (or updates in place) profile `name` for Kura in the AWS CLI's shared files. A region the
 * user names replaces the profile's; without one, a region the profile has is kept (the user may have
 * chosen it) and `defaultRegion` fills a profile that has none. Returns the region the file now holds,
 * which is what the caller reports.
 */
export function writeProfile(o: {
  name: string;
  endpoint: string;
  region?: string;
  defaultRegion: string;
  credential: ClientCredential;
  env?: NodeJS.ProcessEnv;
}): { configFile: string; credentialsFile: string; guardCa: string; region: string } {
  const env = o.env ?? process.env;
  const configFile = awsConfigFile(env);
  const credentialsFile = awsCredentialsFile(env);
  // Beside the config file, so the profile does not depend on a data directory that may be removed.
  fs.mkdirSync(path.dirname(configFile), { recursive: true, mode: 0o700 });
  const guardCa = ensureGuardCa(path.dirname(configFile));
  const profileSection = o.name === 'default' ? 'default' : `profile ${o.name}`;
  let config = readIfExists(configFile);
  config = editIni(config, profileSection, {
    set: [
      // Every service of this profile goes to Kura (CLIs from v2.13 / v1.29)…
      ['endpoint_url', o.endpoint],
      // …and the services section names KMS and STS explicitly.
      ['services', o.name],
      ['ca_bundle', guardCa],
      // AWS CLI v1 fetches any parameter value that starts with https:// or http:// and sends what
      // it got instead: `create-custom-key-store --xks-proxy-uri-endpoint https://xks.example.com`
      // fails with "Unable to retrieve https://…" (or sends that page). v2 no longer follows them.
      ['cli_follow_urlparam', 'false'],
      ...(o.region !== undefined ? [['region', o.region] as [string, string]] : []),
    ],
    setIfAbsent: [['region', o.defaultRegion]],
  });
  const region = iniValue(config, profileSection, 'region') ?? o.defaultRegion;
  config = editIni(config, `services ${o.name}`, { replaceBody: ['kms =', `  endpoint_url = ${o.endpoint}`, 'sts =', `  endpoint_url = ${o.endpoint}`] });
  let mode = 0o600;
  try {
    mode = fs.statSync(configFile).mode & 0o777;
  } catch {
    // new file: 0600
  }
  writeFileAtomic(configFile, config, mode);
  const credentials = editIni(readIfExists(credentialsFile), o.name, {
    set: [
      ['aws_access_key_id', o.credential.accessKeyId],
      ['aws_secret_access_key', o.credential.secretAccessKey],
    ],
    // A session token left from another credential would be sent with this one and refused.
    remove: ['aws_session_token'],
  });
  writeFileAtomic(credentialsFile, credentials, 0o600);
  return { configFile, credentialsFile, guardCa, region };
}

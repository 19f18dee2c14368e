// Settings for `kura serve` and the client commands, from (highest first) command-line flags,
// environment variables, a JSON config file, and defaults. Client commands read only the settings
// that find the appliance (resolveClientConfig); the rest are `kura serve`'s (resolveConfig).
// A bad value is reported with where it came from (`--port`, `KURA_PORT`, `"port" in /etc/kura.json`),
// so that an operator knows which of the three to fix.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_LIMITS, type ServerLimits } from '../api/server.js';
import { LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevel } from '../common/log.js';
import { softOpenFileLimit } from '../common/open-files.js';
import { UsageError } from './command.js';

/** The settings every command reads (resolveClientConfig). */
export interface ClientConfig {
  host: string;
  port: number;
  dataDir: string;
  /** The data directory was given (flag, KURA_DATA_DIR or config file), not defaulted. */
  dataDirGiven: boolean;
  dev: boolean;
  endpoint: string;
  /** The endpoint was given (--endpoint or KURA_ENDPOINT), not derived from host and port. */
  endpointGiven: boolean;
}

/** `kura serve`'s settings: the client's, and what only the appliance itself uses. */
export interface ResolvedConfig extends ClientConfig {
  logLevel: LogLevel;
  logFormat: LogFormat;
  schedulerIntervalMs: number;
  limits: ServerLimits;
  /** Regions a request may be signed for; undefined: every AWS region. */
  regions?: readonly string[];
  /** XKS proxy calls per second per store before ThrottlingException (AWS's quota: 1,800). */
  xksRequestsPerSecond: number;
  /** How long an XKS call's work on the key manager may take before DependencyTimeoutException (AWS KMS waits 250 ms). */
  xksAnswerDeadlineMs: number;
  /** The XKS proxy's own listener with TLS (AWS KMS reaches a proxy over HTTPS only); absent: none. */
  xksTls?: XksTlsConfig;
  /** How this appliance's external key stores reach their XKS proxies. */
  xksClient: XksClientConfig;
}

export interface XksClientConfig {
  /** A PEM file of CAs trusted for XKS proxies besides the system's. */
  caFile?: string;
  /** Endpoint host name → the address to connect to instead (as curl's --connect-to). */
  connectTo: Record<string, { host: string; port: number }>;
  /** Each call's deadline in milliseconds (AWS: 250). */
  timeoutMs: number;
}

export interface XksTlsConfig {
  /** PEM files: the certificate chain and its key; with clientCaFile, clients must present a certificate that CA issued. */
  certFile: string;
  keyFile: string;
  clientCaFile?: string;
  /** With clientCaFile: the subject common names a client certificate may carry (AWS KMS: cks.kms.REGION.amazonaws.com). */
  clientSubjects?: string[];
  host: string;
  port: number;
}

export interface ConfigFlags {
  host?: string;
  port?: string;
  'data-dir'?: string;
  config?: string;
  'log-level'?: string;
  'log-format'?: string;
  endpoint?: string;
  dev?: boolean;
  'max-connections'?: string;
  'headers-timeout'?: string;
  'request-timeout'?: string;
  'idle-timeout'?: string;
  regions?: string;
  'xks-rate'?: string;
  'xks-answer-deadline'?: string;
  'xks-tls-cert'?: string;
  'xks-tls-key'?: string;
  'xks-tls-client-ca'?: string;
  'xks-tls-client-subject'?: string;
  'xks-tls-host'?: string;
  'xks-tls-port'?: string;
  'xks-client-ca'?: string;
  'xks-connect-to'?: string;
  'xks-client-timeout'?: string;
}

export const ENV_HELP = `Environment variables (overridden by flags, override the config file):
  KURA_HOST, KURA_PORT, KURA_DATA_DIR, KURA_CONFIG, KURA_LOG_LEVEL, KURA_LOG_FORMAT, KURA_ENDPOINT,
  KURA_MAX_CONNECTIONS, KURA_HEADERS_TIMEOUT, KURA_REQUEST_TIMEOUT, KURA_IDLE_TIMEOUT, KURA_REGIONS,
  KURA_XKS_RATE, KURA_XKS_ANSWER_DEADLINE, KURA_XKS_TLS_CERT, KURA_XKS_TLS_KEY, KURA_XKS_TLS_CLIENT_CA,
  KURA_XKS_TLS_CLIENT_SUBJECT, KURA_XKS_TLS_HOST, KURA_XKS_TLS_PORT, KURA_XKS_CLIENT_CA,
  KURA_XKS_CONNECT_TO, KURA_XKS_CLIENT_TIMEOUT
Config file (--config or KURA_CONFIG), JSON:
  { "host": "127.0.0.1", "port": 7420, "dataDir": "/var/lib/kura", "logLevel": "info",
    "logFormat": "json", "schedulerIntervalSeconds": 60, "maxConnections": 256,
    "headersTimeoutSeconds": 10, "requestTimeoutSeconds": 30, "idleTimeoutSeconds": 5,
    "regions": ["us-east-1", "eu-west-1"], "xksRequestsPerSecond": 1800, "xksAnswerDeadlineMs": 200,
    "xksTlsCert": "/etc/kura/xks.pem", "xksTlsKey": "/etc/kura/xks.key",
    "xksTlsClientCa": "/etc/kura/aws-kms-ca.pem", "xksTlsClientSubject": "cks.kms.us-east-1.amazonaws.com",
    "xksTlsHost": "127.0.0.1", "xksTlsPort": 7443,
    "xksClientCa": "/etc/kura/proxies-ca.pem", "xksConnectTo": "xks.example.com=10.0.0.5:8443",
    "xksClientTimeoutMs": 250 }
  ("dev": true is --dev.)`;

export class ConfigError extends Error {}

/**
 * A bad value, named by where it came from (`--port must be…`, `"port" in /etc/kura.json must be…`).
 * On the command line it is a usage error (exit 2, as an unknown option is); from a KURA_* variable
 * or the config file it is a ConfigError (exit 1): the command was right, what it ran in was not.
 */
function badSetting(where: string, predicate: string): Error {
  return where.startsWith('--') ? new UsageError(`${where} ${predicate.replace(/\.$/, '')}`) : new ConfigError(`${where} ${predicate}`);
}

/** AWS KMS's quota of requests per second to one external key store's proxy. */
export const DEFAULT_XKS_REQUESTS_PER_SECOND = 1_800;
/** AWS KMS's 250 ms for a proxy's answer, less 50 ms for the rest of the call (main/api/xks/dispatch.ts). */
export const DEFAULT_XKS_ANSWER_DEADLINE_MS = 200;

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

/** The keys a config file may hold (`kura serve --help` shows each). */
export const FILE_KEYS = [
  'host',
  'port',
  'dataDir',
  'logLevel',
  'logFormat',
  'schedulerIntervalSeconds',
  'dev',
  'maxConnections',
  'headersTimeoutSeconds',
  'requestTimeoutSeconds',
  'idleTimeoutSeconds',
  'regions',
  'xksRequestsPerSecond',
  'xksAnswerDeadlineMs',
  'xksTlsCert',
  'xksTlsKey',
  'xksTlsClientCa',
  'xksTlsClientSubject',
  'xksTlsHost',
  'xksTlsPort',
  'xksClientCa',
  'xksConnectTo',
  'xksClientTimeoutMs',
] as const;

/** The XKS TLS listener's default port. */
export const DEFAULT_XKS_TLS_PORT = 7443;

/** The shape of an AWS region name (us-east-1, us-gov-west-1, eusc-de-east-1). */
const REGION_NAME = /^[a-z]{2,4}(-[a-z]+)+-\d+$/;

/** The user's data directory: $XDG_DATA_HOME/kura, else ~/.local/share/kura. */
export function userDataDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'kura');
}

export function defaultDataDir(dev: boolean, env: NodeJS.ProcessEnv = process.env): string {
  if (dev) return path.resolve('.kura-dev');
  return userDataDir(env);
}

function readConfigFile(configPath: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(configPath, 'utf8');
  } catch (e) {
    throw new ConfigError(`Cannot read the config file ${configPath} (${(e as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`The config file ${configPath} is not valid JSON: ${(e as Error).message}.`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigError(`The config file ${configPath} must hold a JSON object.`);
  const file = parsed as Record<string, unknown>;
  const known = new Set<string>(FILE_KEYS);
  for (const k of Object.keys(file)) {
    if (!known.has(k)) throw new ConfigError(`Unknown setting "${k}" in ${configPath} (known settings: ${FILE_KEYS.join(', ')}).`);
  }
  return file;
}

/** Where settings come from: the config file (read and checked for unknown keys) and `pick`. */
function sourcesOf(flags: ConfigFlags, env: NodeJS.ProcessEnv): { configPath: string | undefined; file: Record<string, unknown>; pick: Pick } {
  const configPath = flags.config ?? (env.KURA_CONFIG || undefined);
  const file = configPath ? readConfigFile(configPath) : {};
  /** A setting's text and where it came from, for error messages. */
  const pick = (flag: string | undefined, flagName: string, envName: string, fileKey: string): { text: string; where: string } | undefined => {
    if (flag !== undefined) return { text: flag, where: `--${flagName}` };
    if (env[envName] !== undefined && env[envName] !== '') return { text: env[envName]!, where: envName };
    const v = file[fileKey];
    if (v === undefined) return undefined;
    if (typeof v === 'object' && v !== null) throw new ConfigError(`"${fileKey}" in ${configPath} must be a ${fileKey === 'dev' ? 'boolean' : 'number or string'}.`);
    return { text: String(v), where: `"${fileKey}" in ${configPath}` };
  };
  return { configPath, file, pick };
}

/**
 * What every command needs: where the data directory is and how to reach the appliance. A client
 * command reads only these, so that a config file shared with `kura serve` (its log format, its XKS TLS
 * listener) is not checked by commands that do not use those settings.
 */
export function resolveClientConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): ClientConfig {
  return clientSettings(flags, env, sourcesOf(flags, env));
}

function clientSettings(flags: ConfigFlags, env: NodeJS.ProcessEnv, { configPath, file, pick }: ReturnType<typeof sourcesOf>): ClientConfig {
  if (file.dev !== undefined && typeof file.dev !== 'boolean') throw new ConfigError(`"dev" in ${configPath} must be true or false.`);
  const dev = flags.dev ?? file.dev === true;
  const hostSetting = pick(flags.host, 'host', 'KURA_HOST', 'host');
  const host = hostSetting?.text ?? '127.0.0.1';
  if (!LOOPBACK.test(host)) {
    throw badSetting(hostSetting!.where, `is ${host}, not a loopback address: Kura listens on loopback only until TLS is configured.`);
  }
  const portSetting = pick(flags.port, 'port', 'KURA_PORT', 'port');
  const port = Number(portSetting?.text ?? '7420');
  if (!/^\d+$/.test(portSetting?.text ?? '7420') || port > 65535) {
    throw badSetting(portSetting!.where, `must be a port number from 0 to 65535, not "${portSetting!.text}".`);
  }
  const dataDirSetting = pick(flags['data-dir'], 'data-dir', 'KURA_DATA_DIR', 'dataDir');
  const dataDir = path.resolve(dataDirSetting?.text ?? defaultDataDir(dev, env));
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  const endpointSetting = flags.endpoint !== undefined ? { text: flags.endpoint, where: '--endpoint' } : env.KURA_ENDPOINT ? { text: env.KURA_ENDPOINT, where: 'KURA_ENDPOINT' } : undefined;
  if (endpointSetting && !/^https?:\/\/[^/\s]+\/?$/.test(endpointSetting.text)) {
    throw badSetting(endpointSetting.where, `must be a URL such as http://127.0.0.1:7420, not "${endpointSetting.text}".`);
  }
  const endpoint = endpointSetting?.text.replace(/\/$/, '') ?? `http://${hostForUrl}:${port}`;
  return { host, port, dataDir, dataDirGiven: dataDirSetting !== undefined, dev, endpoint, endpointGiven: endpointSetting !== undefined };
}

/** Every setting of `kura serve`. */
export function resolveConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env, opts: { stderrIsTty?: boolean } = {}): ResolvedConfig {
  const sources = sourcesOf(flags, env);
  const { configPath, file, pick } = sources;
  const client = clientSettings(flags, env, sources);
  const fileRegions = file.regions;
  if (fileRegions !== undefined && !(Array.isArray(fileRegions) && fileRegions.every((r) => typeof r === 'string'))) {
    throw new ConfigError(`"regions" in ${configPath} must be a list of region names.`);
  }
  const oneOf = <T extends string>(setting: { text: string; where: string } | undefined, allowed: readonly T[], fallback: T): T => {
    if (!setting) return fallback;
    if (!(allowed as readonly string[]).includes(setting.text)) throw badSetting(setting.where, `must be one of ${allowed.join(', ')}, not "${setting.text}".`);
    return setting.text as T;
  };
  const logLevel = oneOf(pick(flags['log-level'], 'log-level', 'KURA_LOG_LEVEL', 'logLevel'), LOG_LEVELS, 'info');
  // A person at a terminal reads text; anything else (a supervisor, a pipe, a file) gets JSON lines.
  const logFormat = oneOf(pick(flags['log-format'], 'log-format', 'KURA_LOG_FORMAT', 'logFormat'), LOG_FORMATS, (opts.stderrIsTty ?? Boolean(process.stderr.isTTY)) ? 'text' : 'json');
  const interval = Number(file.schedulerIntervalSeconds ?? 60);
  if (!Number.isFinite(interval) || interval <= 0) throw new ConfigError(`"schedulerIntervalSeconds" in ${configPath} must be a positive number.`);
  const seconds = (setting: { text: string; where: string } | undefined, defaultMs: number): number => {
    if (!setting) return defaultMs;
    const v = Number(setting.text);
    if (!Number.isFinite(v) || v <= 0 || v > 3600) throw badSetting(setting.where, `must be a number of seconds above 0 and at most 3600, not "${setting.text}".`);
    return Math.round(v * 1000);
  };
  const maxSetting = pick(flags['max-connections'], 'max-connections', 'KURA_MAX_CONNECTIONS', 'maxConnections');
  const maxConnections = maxSetting === undefined ? defaultMaxConnections() : Number(maxSetting.text);
  if (!Number.isInteger(maxConnections) || maxConnections < 1 || maxConnections > 1_000_000) {
    throw badSetting(maxSetting!.where, `must be a whole number from 1 to 1000000, not "${maxSetting!.text}".`);
  }
  // The allow-list of regions: a flag or variable is comma-separated, the config file gives a list.
  const regionsSetting =
    flags.regions !== undefined
      ? { list: flags.regions.split(','), where: '--regions' }
      : env.KURA_REGIONS
        ? { list: env.KURA_REGIONS.split(','), where: 'KURA_REGIONS' }
        : fileRegions !== undefined
          ? { list: fileRegions as string[], where: `"regions" in ${configPath}` }
          : undefined;
  const regions = regionsSetting?.list.map((r) => r.trim()).filter((r) => r !== '');
  if (regionsSetting && (regions!.length === 0 || regions!.some((r) => !REGION_NAME.test(r)))) {
    throw badSetting(regionsSetting.where, `must list AWS region names such as us-east-1, not "${regionsSetting.list.join(',')}".`);
  }
  const rateSetting = pick(flags['xks-rate'], 'xks-rate', 'KURA_XKS_RATE', 'xksRequestsPerSecond');
  const xksRequestsPerSecond = rateSetting === undefined ? DEFAULT_XKS_REQUESTS_PER_SECOND : Number(rateSetting.text);
  if (!Number.isInteger(xksRequestsPerSecond) || xksRequestsPerSecond < 1 || xksRequestsPerSecond > 1_000_000) {
    throw badSetting(rateSetting!.where, `must be a whole number of requests per second from 1 to 1000000, not "${rateSetting!.text}".`);
  }
  const deadlineSetting = pick(flags['xks-answer-deadline'], 'xks-answer-deadline', 'KURA_XKS_ANSWER_DEADLINE', 'xksAnswerDeadlineMs');
  const xksAnswerDeadlineMs = deadlineSetting === undefined ? DEFAULT_XKS_ANSWER_DEADLINE_MS : Number(deadlineSetting.text);
  if (!Number.isInteger(xksAnswerDeadlineMs) || xksAnswerDeadlineMs < 10 || xksAnswerDeadlineMs > 60_000) {
    throw badSetting(deadlineSetting!.where, `must be a whole number of milliseconds from 10 to 60000, not "${deadlineSetting!.text}".`);
  }
  const xksTls = xksTlsOf(pick, flags);
  const xksClient = xksClientOf(pick, flags);
  const limits: ServerLimits = {
    ...DEFAULT_LIMITS,
    maxConnections,
    headersTimeoutMs: seconds(pick(flags['headers-timeout'], 'headers-timeout', 'KURA_HEADERS_TIMEOUT', 'headersTimeoutSeconds'), DEFAULT_LIMITS.headersTimeoutMs),
    requestTimeoutMs: seconds(pick(flags['request-timeout'], 'request-timeout', 'KURA_REQUEST_TIMEOUT', 'requestTimeoutSeconds'), DEFAULT_LIMITS.requestTimeoutMs),
    idleTimeoutMs: seconds(pick(flags['idle-timeout'], 'idle-timeout', 'KURA_IDLE_TIMEOUT', 'idleTimeoutSeconds'), DEFAULT_LIMITS.idleTimeoutMs),
  };
  return {
    ...client,
    logLevel,
    logFormat,
    schedulerIntervalMs: interval * 1000,
    limits,
    regions,
    xksRequestsPerSecond,
    xksAnswerDeadlineMs,
    ...(xksTls ? { xksTls } : {}),
    xksClient,
  };
}

/** AWS KMS's deadline for an XKS proxy's answer. */
export const DEFAULT_XKS_CLIENT_TIMEOUT_MS = 250;

/** How external key stores reach their proxies: --xks-client-ca, --xks-connect-to HOST=ADDRESS:PORT[,…], --xks-client-timeout MS. */
function xksClientOf(pick: Pick, flags: ConfigFlags): XksClientConfig {
  const ca = pick(flags['xks-client-ca'], 'xks-client-ca', 'KURA_XKS_CLIENT_CA', 'xksClientCa');
  const connectSetting = pick(flags['xks-connect-to'], 'xks-connect-to', 'KURA_XKS_CONNECT_TO', 'xksConnectTo');
  const connectTo: XksClientConfig['connectTo'] = {};
  for (const item of connectSetting?.text.split(',').map((x) => x.trim()).filter((x) => x !== '') ?? []) {
    const m = /^([A-Za-z0-9.-]+)=(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(item);
    if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) {
      throw badSetting(connectSetting!.where, `must be HOST=ADDRESS:PORT pairs separated by commas (xks.example.com=127.0.0.1:7443), not "${item}".`);
    }
    connectTo[m[1]!.toLowerCase()] = { host: m[2]!.replace(/^\[|\]$/g, ''), port: Number(m[3]) };
  }
  const timeoutSetting = pick(flags['xks-client-timeout'], 'xks-client-timeout', 'KURA_XKS_CLIENT_TIMEOUT', 'xksClientTimeoutMs');
  const timeoutMs = timeoutSetting === undefined ? DEFAULT_XKS_CLIENT_TIMEOUT_MS : Number(timeoutSetting.text);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 10 || timeoutMs > 60_000) {
    throw badSetting(timeoutSetting!.where, `must be a whole number of milliseconds from 10 to 60000, not "${timeoutSetting!.text}".`);
  }
  return { ...(ca ? { caFile: ca.text } : {}), connectTo, timeoutMs };
}

/**
 * The connection cap when none is configured: room under the process's open-file limit for the
 * database, its WAL, logs, the listener and the 503s answered beyond the cap (a quarter of the
 * limit, and 64 more), at most 1,024. Read from
 * /proc/self/limits on Linux; elsewhere 256.
 */
export function defaultMaxConnections(limitsText?: string): number {
  // Below MIN_OPEN_FILES (128: 32 connections) `kura serve` refuses to start (bin/kura.js), so the floor
  // of 8 is never what it serves with.
  const soft = softOpenFileLimit(limitsText);
  if (soft === undefined) return 256;
  return Math.max(8, Math.min(1024, Math.floor(soft * 0.75) - 64));
}

type Pick = (flag: string | undefined, flagName: string, envName: string, fileKey: string) => { text: string; where: string } | undefined;

/** The XKS TLS listener's settings: a certificate and its key together, or neither (no listener). */
function xksTlsOf(pick: Pick, flags: ConfigFlags): XksTlsConfig | undefined {
  const cert = pick(flags['xks-tls-cert'], 'xks-tls-cert', 'KURA_XKS_TLS_CERT', 'xksTlsCert');
  const key = pick(flags['xks-tls-key'], 'xks-tls-key', 'KURA_XKS_TLS_KEY', 'xksTlsKey');
  if (cert || key) return xksTlsSettings(cert, key, pick, flags);
  // The listener's other settings without the listener would be silently ignored: say so instead.
  for (const [flag, env, file] of [
    ['xks-tls-client-ca', 'KURA_XKS_TLS_CLIENT_CA', 'xksTlsClientCa'],
    ['xks-tls-client-subject', 'KURA_XKS_TLS_CLIENT_SUBJECT', 'xksTlsClientSubject'],
    ['xks-tls-host', 'KURA_XKS_TLS_HOST', 'xksTlsHost'],
    ['xks-tls-port', 'KURA_XKS_TLS_PORT', 'xksTlsPort'],
  ] as const) {
    const setting = pick(flags[flag], flag, env, file);
    if (setting) throw badSetting(setting.where, `is a setting of the XKS TLS listener, which runs only with a certificate and its key (--xks-tls-cert, --xks-tls-key).`);
  }
  return undefined;
}

function xksTlsSettings(cert: ReturnType<Pick>, key: ReturnType<Pick>, pick: Pick, flags: ConfigFlags): XksTlsConfig {
  if (!cert || !key) {
    // Name the one given, so that a stray line in a shared config file is found.
    const missing = cert ? 'its key (--xks-tls-key, KURA_XKS_TLS_KEY or "xksTlsKey")' : 'a certificate (--xks-tls-cert, KURA_XKS_TLS_CERT or "xksTlsCert")';
    throw badSetting((cert ?? key)!.where, `needs ${missing} as well: the XKS TLS listener needs both a certificate and its key.`);
  }
  const clientCa = pick(flags['xks-tls-client-ca'], 'xks-tls-client-ca', 'KURA_XKS_TLS_CLIENT_CA', 'xksTlsClientCa');
  // The spec: a proxy with mutual TLS lets its operator set both the client certificate's CA and its
  // subject name (AWS KMS presents CN=cks.kms.REGION.amazonaws.com).
  const subjectSetting = pick(flags['xks-tls-client-subject'], 'xks-tls-client-subject', 'KURA_XKS_TLS_CLIENT_SUBJECT', 'xksTlsClientSubject');
  const clientSubjects = subjectSetting?.text.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (subjectSetting && !clientCa) throw badSetting(subjectSetting.where, `needs a client CA (--xks-tls-client-ca): it names the subject of the client certificates that CA issues.`);
  if (subjectSetting && (clientSubjects!.length === 0 || clientSubjects!.some((n) => !/^[\x21-\x7e]{1,64}$/.test(n)))) {
    throw badSetting(subjectSetting.where, `must be common names separated by commas (cks.kms.us-east-1.amazonaws.com), not "${subjectSetting.text}".`);
  }
  const host = pick(flags['xks-tls-host'], 'xks-tls-host', 'KURA_XKS_TLS_HOST', 'xksTlsHost')?.text ?? '127.0.0.1';
  const portSetting = pick(flags['xks-tls-port'], 'xks-tls-port', 'KURA_XKS_TLS_PORT', 'xksTlsPort');
  const port = portSetting === undefined ? DEFAULT_XKS_TLS_PORT : Number(portSetting.text);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw badSetting(portSetting!.where, `must be a port number from 0 to 65535, not "${portSetting!.text}".`);
  return { certFile: cert.text, keyFile: key.text, ...(clientCa ? { clientCaFile: clientCa.text } : {}), ...(clientSubjects ? { clientSubjects } : {}), host, port };
}

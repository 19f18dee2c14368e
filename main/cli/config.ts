// Settings for `kura serve` and the client commands, from (highest first) command-line flags,
// environment variables, a JSON config file, and defaults.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_LIMITS, type ServerLimits } from '../api/server.js';
import { LOG_LEVELS, type LogLevel } from '../common/log.js';

export interface ResolvedConfig {
  host: string;
  port: number;
  dataDir: string;
  dev: boolean;
  logLevel: LogLevel;
  schedulerIntervalMs: number;
  endpoint: string;
  limits: ServerLimits;
}

export interface ConfigFlags {
  host?: string;
  port?: string;
  'data-dir'?: string;
  config?: string;
  'log-level'?: string;
  endpoint?: string;
  dev?: boolean;
  'max-connections'?: string;
  'headers-timeout'?: string;
  'request-timeout'?: string;
  'idle-timeout'?: string;
}

export const ENV_HELP = `Environment variables (overridden by flags, override the config file):
  KURA_HOST, KURA_PORT, KURA_DATA_DIR, KURA_CONFIG, KURA_LOG_LEVEL, KURA_ENDPOINT,
  KURA_MAX_CONNECTIONS, KURA_HEADERS_TIMEOUT, KURA_REQUEST_TIMEOUT, KURA_IDLE_TIMEOUT
Config file (--config or KURA_CONFIG), JSON:
  { "host": "127.0.0.1", "port": 7420, "dataDir": "/var/lib/kura", "logLevel": "info",
    "schedulerIntervalSeconds": 60, "maxConnections": 256, "headersTimeoutSeconds": 10,
    "requestTimeoutSeconds": 30, "idleTimeoutSeconds": 5 }`;

export class ConfigError extends Error {}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function defaultDataDir(dev: boolean): string {
  if (dev) return path.resolve('.kura-dev');
  const base = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(base, 'kura');
}

export function resolveConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const configPath = flags.config ?? env.KURA_CONFIG;
  let file: Record<string, unknown> = {};
  if (configPath) {
    let text: string;
    try {
      text = fs.readFileSync(configPath, 'utf8');
    } catch {
      throw new ConfigError(`Cannot read the config file ${configPath}.`);
    }
    try {
      const parsed = JSON.parse(text) as unknown;
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error();
      file = parsed as Record<string, unknown>;
    } catch {
      throw new ConfigError(`The config file ${configPath} is not a JSON object.`);
    }
    const known = new Set([
      'host',
      'port',
      'dataDir',
      'logLevel',
      'schedulerIntervalSeconds',
      'dev',
      'maxConnections',
      'headersTimeoutSeconds',
      'requestTimeoutSeconds',
      'idleTimeoutSeconds',
    ]);
    for (const k of Object.keys(file)) if (!known.has(k)) throw new ConfigError(`Unknown setting "${k}" in ${configPath}.`);
  }
  const pick = (flag: string | undefined, envName: string, fileKey: string): string | undefined => {
    if (flag !== undefined) return flag;
    if (env[envName] !== undefined && env[envName] !== '') return env[envName];
    const v = file[fileKey];
    return v === undefined ? undefined : String(v);
  };
  const dev = flags.dev ?? file.dev === true;
  const host = pick(flags.host, 'KURA_HOST', 'host') ?? '127.0.0.1';
  if (!LOOPBACK.test(host)) {
    throw new ConfigError(`Kura listens on loopback only until TLS is configured; ${host} is not a loopback address.`);
  }
  const portText = pick(flags.port, 'KURA_PORT', 'port') ?? '7420';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`Port must be a number from 0 to 65535, not "${portText}".`);
  const logLevel = (pick(flags['log-level'], 'KURA_LOG_LEVEL', 'logLevel') ?? 'info') as LogLevel;
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`Log level must be one of ${LOG_LEVELS.join(', ')}.`);
  const interval = Number(file.schedulerIntervalSeconds ?? 60);
  if (!Number.isFinite(interval) || interval <= 0) throw new ConfigError('schedulerIntervalSeconds must be a positive number.');
  const dataDir = path.resolve(pick(flags['data-dir'], 'KURA_DATA_DIR', 'dataDir') ?? defaultDataDir(dev));
  const hostForUrl = host.includes(':') ? `[${host}]` : host;
  const endpoint = flags.endpoint ?? env.KURA_ENDPOINT ?? `http://${hostForUrl}:${port}`;
  const seconds = (flag: string | undefined, envName: string, fileKey: string, name: string, defaultMs: number): number => {
    const text = pick(flag, envName, fileKey);
    if (text === undefined) return defaultMs;
    const v = Number(text);
    if (!Number.isFinite(v) || v <= 0 || v > 3600) throw new ConfigError(`${name} must be a number of seconds above 0 and at most 3600, not "${text}".`);
    return Math.round(v * 1000);
  };
  const maxText = pick(flags['max-connections'], 'KURA_MAX_CONNECTIONS', 'maxConnections');
  const maxConnections = maxText === undefined ? defaultMaxConnections() : Number(maxText);
  if (!Number.isInteger(maxConnections) || maxConnections < 1 || maxConnections > 1_000_000) {
    throw new ConfigError(`maxConnections must be a whole number from 1, not "${maxText}".`);
  }
  const limits: ServerLimits = {
    ...DEFAULT_LIMITS,
    maxConnections,
    headersTimeoutMs: seconds(flags['headers-timeout'], 'KURA_HEADERS_TIMEOUT', 'headersTimeoutSeconds', 'The headers timeout', DEFAULT_LIMITS.headersTimeoutMs),
    requestTimeoutMs: seconds(flags['request-timeout'], 'KURA_REQUEST_TIMEOUT', 'requestTimeoutSeconds', 'The request timeout', DEFAULT_LIMITS.requestTimeoutMs),
    idleTimeoutMs: seconds(flags['idle-timeout'], 'KURA_IDLE_TIMEOUT', 'idleTimeoutSeconds', 'The idle timeout', DEFAULT_LIMITS.idleTimeoutMs),
  };
  return { host, port, dataDir, dev, logLevel, schedulerIntervalMs: interval * 1000, endpoint, limits };
}

/**
 * The connection cap when none is configured: room under the process's open-file limit for the
 * database, its WAL, logs, the listener and the 503s answered beyond the cap (a quarter of the
 * limit, and 64 more), at most 1,024. Read from
 * /proc/self/limits on Linux; elsewhere 256.
 */
export function defaultMaxConnections(limitsText?: string): number {
  let soft: number | undefined;
  try {
    const text = limitsText ?? fs.readFileSync('/proc/self/limits', 'utf8');
    const m = /^Max open files\s+(\d+|unlimited)/m.exec(text);
    if (m) soft = m[1] === 'unlimited' ? Infinity : Number(m[1]);
  } catch {
    // not Linux
  }
  if (soft === undefined) return 256;
  return Math.max(8, Math.min(1024, Math.floor(soft * 0.75) - 64));
}

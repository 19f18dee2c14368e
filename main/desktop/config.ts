// The desktop app's settings: which appliance its main process runs, from its command line
// (`npm run desktop -- --dev`, or the packaged app's arguments) and the same KURA_* variables `kura serve`
// reads, and the appliance configuration they make.
//
//   --dev             a dev appliance as `npm start` makes: ./.kura-dev, unsealed at start from the dev
//                     root key file there (INSECURE; for trying the console, never for real keys)
//   --data-dir DIR    KURA_DATA_DIR; default ./.kura-dev with --dev, else $XDG_DATA_HOME/kura or
//                     ~/.local/share/kura — where `kura serve` and the `kura` commands look, so that
//                     `kura status` finds the desktop's appliance through its runtime file
//   --port P          KURA_PORT; the loopback KMS listener's port (default 7420; 0 picks a free one)
//   --log-level L     KURA_LOG_LEVEL: debug, info (default), warn or error
//   KURA_DEVTOOLS=1   allows the window's devtools in a packaged build (an unpackaged one always has them)
//
// The listener is always on 127.0.0.1. Anything else on the command line is Electron's or Chromium's
// (switches they add, the entry script's path) and is left to them — except the switches that open the
// app to a debugger (DEBUGGING_SWITCHES), which a packaged app refuses unless KURA_DEVTOOLS=1: they are
// devtools by another door, and `--remote-debugging-port` listens where any local user can attach; and
// the switches that take down the page's walls (WEAKENING_SWITCHES), which a packaged app refuses
// always. An unpackaged app (`npm run desktop`, a developer's) takes both: a developer running as root
// in a container cannot start Chromium without --no-sandbox; main.ts logs a warning for each.
import os from 'node:os';
import path from 'node:path';
import type { ApplianceConfig } from '../app.js';
import { LOG_LEVELS, type LogLevel } from '../common/log.js';

export interface DesktopSettings {
  dev: boolean;
  dataDir: string;
  port: number;
  logLevel: LogLevel;
  devTools: boolean;
}

/** A setting Kura cannot use, named with where it came from. */
export class DesktopConfigError extends Error {}

/**
 * Chromium's and Node's switches that let another program drive the app: the DevTools protocol over a
 * port (on 127.0.0.1, open to every local user) or a pipe, which runs script in the console's page with
 * its window.kura, and Node's inspector in the main process (the packaged binary's
 * EnableNodeCliInspectArguments fuse is off as well, electron-builder.yml).
 */
export const DEBUGGING_SWITCHES: readonly string[] = ['remote-debugging-port', 'remote-debugging-pipe', 'inspect', 'inspect-brk', 'inspect-port'];

/**
 * Chromium's switches that take down what keeps the console's page a page: --no-sandbox runs every
 * renderer outside the sandbox whatever app.enableSandbox() said, --disable-web-security and
 * --disable-site-isolation-trials lift the same-origin rules. No fuse covers them.
 */
export const WEAKENING_SWITCHES: readonly string[] = ['no-sandbox', 'disable-web-security', 'disable-site-isolation-trials'];

/** The arguments of `args` that are one of `switches` (as Chromium on `platform` reads them). */
export function switchesAmong(args: readonly string[], switches: readonly string[], platform: NodeJS.Platform): string[] {
  return args.filter((arg) => switches.includes(switchName(arg, platform) ?? ''));
}

/**
 * The switch `arg` names, as Chromium's command line reads it: after `--` or `-` (and `/` on Windows),
 * up to any `=`; names are case-insensitive on Windows. Undefined for an argument that is no switch.
 */
function switchName(arg: string, platform: NodeJS.Platform): string | undefined {
  const prefix = /^(--|-)/.exec(arg)?.[0] ?? (platform === 'win32' && arg.startsWith('/') ? '/' : undefined);
  if (prefix === undefined) return undefined;
  const name = arg.slice(prefix.length).split('=')[0]!;
  return platform === 'win32' ? name.toLowerCase() : name;
}

/** The user's data directory, as `kura serve` defaults to it (main/cli/config.ts userDataDir). */
function userDataDir(env: NodeJS.ProcessEnv, home: string): string {
  return path.join(env.XDG_DATA_HOME || path.join(home, '.local', 'share'), 'kura');
}

/** `--name value` or `--name=value` at `i`: the value and how many arguments it took, or undefined. */
function optionAt(argv: readonly string[], i: number, name: string): { value: string; used: number } | undefined {
  const arg = argv[i]!;
  if (arg.startsWith(`--${name}=`)) return { value: arg.slice(name.length + 3), used: 1 };
  if (arg !== `--${name}`) return undefined;
  const value = argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new DesktopConfigError(`--${name} needs a value.`);
  return { value, used: 2 };
}

/**
 * The settings of `argv` (the app's own arguments, after Electron's executable) and `env`. `ignored`
 * lists the arguments that are not Kura's, for the log; `weakening`, the switches among all of them that
 * undo a protection of the window, which only an unpackaged app gets back (a packaged one refuses them).
 */
export function desktopSettings(
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  where: { isPackaged: boolean; cwd: string; home?: string; platform?: NodeJS.Platform },
): { settings: DesktopSettings; ignored: string[]; weakening: string[] } {
  const given: { dev?: boolean; 'data-dir'?: string; port?: string; 'log-level'?: string } = {};
  const ignored: string[] = [];
  for (let i = 0; i < argv.length; ) {
    if (argv[i] === '--dev') {
      given.dev = true;
      i += 1;
      continue;
    }
    const found = (['data-dir', 'port', 'log-level'] as const).map((name) => ({ name, hit: optionAt(argv, i, name) })).find((o) => o.hit !== undefined);
    if (found?.hit) {
      given[found.name] = found.hit.value;
      i += found.hit.used;
      continue;
    }
    ignored.push(argv[i]!);
    i += 1;
  }
  const dev = given.dev === true;
  const portText = given.port ?? env.KURA_PORT ?? '7420';
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port > 65535) {
    throw new DesktopConfigError(`${given.port !== undefined ? '--port' : 'KURA_PORT'} must be a port number from 0 to 65535, not "${portText}".`);
  }
  const level = given['log-level'] ?? env.KURA_LOG_LEVEL ?? 'info';
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    throw new DesktopConfigError(`${given['log-level'] !== undefined ? '--log-level' : 'KURA_LOG_LEVEL'} must be one of ${LOG_LEVELS.join(', ')}, not "${level}".`);
  }
  const dataDirGiven = given['data-dir'] ?? (env.KURA_DATA_DIR || undefined);
  const dataDir = path.resolve(where.cwd, dataDirGiven ?? (dev ? '.kura-dev' : userDataDir(env, where.home ?? os.homedir())));
  const devTools = !where.isPackaged || env.KURA_DEVTOOLS === '1';
  const platform = where.platform ?? process.platform;
  // Every argument, not only those Kura left: Chromium reads as a switch whatever looks like one, the
  // value Kura took for --data-dir (`--data-dir -no-sandbox`) included.
  if (!devTools) {
    const [debugging] = switchesAmong(argv, DEBUGGING_SWITCHES, platform);
    if (debugging !== undefined) {
      throw new DesktopConfigError(`${debugging.split('=')[0]} would let another program drive Kura; a packaged Kura takes it only with KURA_DEVTOOLS=1.`);
    }
  }
  // Over every argument too, for the same reason: `--data-dir -no-sandbox` is a data directory to Kura and
  // a switch to Chromium.
  const weakening = switchesAmong(argv, WEAKENING_SWITCHES, platform);
  if (where.isPackaged) {
    if (weakening[0] !== undefined) {
      throw new DesktopConfigError(`${weakening[0].split('=')[0]} turns off a protection of the console's window (the Chromium sandbox or the same-origin rules); a packaged Kura does not start with it.`);
    }
  }
  return {
    settings: { dev, dataDir, port, logLevel: level as LogLevel, devTools },
    ignored,
    weakening,
  };
}

/**
 * The appliance the desktop runs: loopback only, with `kura serve`'s default limits (api/server.ts
 * DEFAULT_LIMITS, which app.ts does not export) and 256 connections — one operator's desktop, not a server.
 */
export function desktopApplianceConfig(s: DesktopSettings): ApplianceConfig {
  return {
    host: '127.0.0.1',
    port: s.port,
    dataDir: s.dataDir,
    dev: s.dev,
    schedulerIntervalMs: 60_000,
    limits: { maxConnections: 256, headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, idleTimeoutMs: 5_000, drainMs: 5_000 },
  };
}

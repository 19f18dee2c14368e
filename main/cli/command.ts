// What every `kura` command shares: the command table's types (one entry per command, from which
// --help, `kura help`, the option parser and the shell completions are all generated, so they cannot
// drift apart), the option parser, output in text or JSON, and the CLI's errors.
//
// Exit codes: 0 success; 1 an error (the appliance refused, could not be reached, a file could not
// be read, a bad KURA_* or config file value); 2 a usage error (unknown option, missing argument, a
// bad option value such as --port abc). `kura status` differs, as Vault's does: 0 unsealed, 2 sealed
// or uninitialized, 1 any error (usage errors included).
// With --json, an error is one line on stderr: {"error":{"code":"…","message":"…"}}, and a warning
// {"warning":{"code":"…","message":"…"}}: a script that parses standard error reads only JSON lines.
import fs from 'node:fs';
import path from 'node:path';

export interface OptionSpec {
  /** Long name, without the dashes. */
  name: string;
  short?: string;
  /** The placeholder of the option's value (N, DIR); absent for a boolean flag. */
  value?: string;
  help: string;
  multiple?: boolean;
  /** The values it accepts; checked here, and offered by the completions. */
  choices?: readonly string[];
  /** What the completions offer for its value. */
  complete?: 'file' | 'dir';
}

export interface Invocation {
  /** The command's words, e.g. "credentials create". */
  path: string;
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
  json: boolean;
  /** The whole command table (for help and completion). */
  commands: readonly CommandSpec[];
}

export interface CommandSpec {
  name: string;
  /** One line, for the command list. */
  summary: string;
  /** Positional arguments as the usage line shows them, e.g. "[SHARE…]"; none accepted if absent. */
  args?: string;
  /** Paragraphs shown by --help after the usage line. */
  description: string;
  options?: readonly OptionSpec[];
  /** Text shown after the options (environment variables, examples). */
  footer?: string;
  subcommands?: readonly CommandSpec[];
  /** What completes a positional argument: subcommand names come from `subcommands`. */
  completeArgs?: readonly string[] | 'file';
  /** Exit code for a usage error (2 unless the command's codes give 2 another meaning). */
  usageExitCode?: number;
  run?: (inv: Invocation) => Promise<number>;
}

/** An error the CLI reports in one line (or as {"error":{code,message}} with --json). */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * A usage error: the message says what was wrong; the report adds the command and where its help is
 * (`kura status: unknown option --foo (see kura status --help)`).
 */
export class UsageError extends CliError {
  constructor(message: string) {
    super('Usage', message, 2);
  }
}

export const HELP_OPTION: OptionSpec = { name: 'help', short: 'h', help: 'show this help and exit' };
export const JSON_OPTION: OptionSpec = { name: 'json', help: 'print the result (and any error) as JSON' };
export const CONFIG_OPTION: OptionSpec = { name: 'config', value: 'FILE', help: 'JSON config file (or KURA_CONFIG)', complete: 'file' };
export const DATA_DIR_OPTION: OptionSpec = {
  name: 'data-dir',
  value: 'DIR',
  help: 'the appliance\'s data directory (or KURA_DATA_DIR; default: ./.kura-dev if it holds a Kura, else ~/.local/share/kura)',
  complete: 'dir',
};
export const ENDPOINT_OPTION: OptionSpec = {
  name: 'endpoint',
  value: 'URL',
  help: 'the appliance (or KURA_ENDPOINT; default: from the data directory\'s runtime file, else http://127.0.0.1:7420)',
};
/** What a command that talks to a running appliance accepts. */
export const CLIENT_OPTIONS: readonly OptionSpec[] = [DATA_DIR_OPTION, ENDPOINT_OPTION, CONFIG_OPTION, JSON_OPTION, HELP_OPTION];
/** What a command that reads the database accepts. */
export const DATABASE_OPTIONS: readonly OptionSpec[] = [DATA_DIR_OPTION, CONFIG_OPTION, JSON_OPTION, HELP_OPTION];

/**
 * Control characters (but line feeds and tabs) and the bidirectional overrides, shown as escapes: text an
 * operator reads may hold what someone else typed (a credential's description, a label, a refused input),
 * and raw escapes would move the cursor, clear lines or reorder what the terminal shows.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE_FOR_TERMINAL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
export const terminalSafe = (text: string): string =>
  text.replace(UNSAFE_FOR_TERMINAL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
/**
 * A value shown within one line — a table's cell, a quoted name — with line feeds and tabs escaped too
 * (terminalSafe keeps them, for text of many lines): a token label or a description someone else wrote
 * cannot start a row of its own, a forged "orphan" line say, or shift a column.
 */
export const oneLine = (text: string): string => text.replace(/[\n\t]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
const line = (text: string): string => (text.endsWith('\n') ? text : `${text}\n`);
const out = (text: string): void => void process.stdout.write(line(terminalSafe(text)));
export const print = out;
/** JSON escapes every control character itself (and must stay byte for byte what was sent). */
export const printJson = (value: unknown): void => void process.stdout.write(line(JSON.stringify(value)));
export const printErr = (text: string): void => void process.stderr.write(line(terminalSafe(text)));
/** A warning on stderr: `kura: warning: …`, or with --json one JSON line, as an error is. */
export function warn(inv: { json: boolean }, code: string, message: string): void {
  printErr(inv.json ? JSON.stringify({ warning: { code, message } }) : `kura: warning: ${message}`);
}

/** How this `kura` was started, for the commands the banner suggests: `kura` if on PATH, else `node …/bin/kura.js`. */
export function selfCommand(): string {
  const script = process.argv[1] ? path.resolve(process.argv[1]) : '';
  let real = script;
  try {
    real = fs.realpathSync(script);
  } catch {
    // keep the path as given
  }
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    try {
      if (fs.realpathSync(path.join(dir, 'kura')) === real) return 'kura';
    } catch {
      // not there
    }
  }
  const rel = path.relative(process.cwd(), script);
  return `node ${rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : script}`;
}

/** Epoch milliseconds as ISO 8601: every time the CLI shows. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** Parses a command's arguments against its options; a problem is a one-line UsageError. */
export function parseOptions(path: string, spec: CommandSpec, argv: readonly string[]): Omit<Invocation, 'commands' | 'json'> {
  const options = spec.options ?? [HELP_OPTION];
  const byLong = new Map(options.map((o) => [o.name, o]));
  const byShort = new Map(options.filter((o) => o.short).map((o) => [o.short!, o]));
  const values: Invocation['values'] = {};
  const positionals: string[] = [];
  const set = (o: OptionSpec, v: string | boolean) => {
    if (typeof v === 'string' && o.choices && !o.choices.includes(v)) {
      throw new UsageError(`--${o.name} must be one of ${o.choices.join(', ')}, not "${v}"`);
    }
    if (o.multiple) values[o.name] = [...((values[o.name] as string[] | undefined) ?? []), String(v)];
    else values[o.name] = v;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    let o: OptionSpec | undefined;
    let inline: string | undefined;
    let shown = arg;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
      if (eq !== -1) inline = arg.slice(eq + 1);
      shown = `--${name}`;
      o = byLong.get(name);
    } else if (arg.startsWith('-') && arg.length > 1) {
      o = byShort.get(arg.slice(1));
      // -n5, as tail(1) takes it.
      const attached = byShort.get(arg[1]!);
      if (!o && arg.length > 2 && attached?.value) {
        o = attached;
        inline = arg.slice(2);
      }
    } else {
      positionals.push(arg);
      continue;
    }
    if (!o) throw new UsageError(`unknown option ${shown}`);
    if (!o.value) {
      if (inline !== undefined) throw new UsageError(`option --${o.name} takes no value`);
      set(o, true);
      continue;
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('-') && next.length > 1)) throw new UsageError(`option --${o.name} needs a value (${o.value})`);
      inline = next;
      i++;
    }
    set(o, inline);
  }
  if (!spec.args && positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  return { path, values, positionals };
}

/** The command named by `words` (e.g. ["credentials", "create"]), for `kura help`. */
export function findCommand(commands: readonly CommandSpec[], words: readonly string[]): { spec: CommandSpec; path: string } {
  let list = commands;
  let spec: CommandSpec | undefined;
  let path = '';
  for (const w of words) {
    const next = list.find((c) => c.name === w);
    if (!next) throw new UsageError(path ? `"${path}" has no command "${w}"` : `unknown command "${w}"`);
    spec = next;
    path = path ? `${path} ${w}` : w;
    list = next.subcommands ?? [];
  }
  if (!spec) throw new UsageError('name a command');
  return { spec, path };
}

/** Reads a whole-number option; undefined if absent. */
export function intOption(inv: Invocation, name: string, min: number, max: number): number | undefined {
  const v = inv.values[name];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || n < min || n > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not "${String(v)}"`);
  }
  return n;
}

export const stringOption = (inv: Invocation, name: string): string | undefined => {
  const v = inv.values[name];
  return typeof v === 'string' ? v : undefined;
};

/** The one positional argument a command takes (`what` names it in the usage error). */
export function oneArgument(inv: Invocation, what: string): string {
  const v = inv.positionals[0];
  if (!v || inv.positionals.length > 1) throw new UsageError(`name one ${what}`);
  return v;
}

export function noArguments(inv: Invocation): void {
  if (inv.positionals.length > 0) throw new UsageError(`unexpected argument "${inv.positionals[0]}"`);
}

/** The value of a required option. */
export function requiredOption(inv: Invocation, name: string): string {
  const v = stringOption(inv, name);
  if (v === undefined) throw new UsageError(`--${name} is required`);
  return v;
}

/** A file the user names, whole; a failure names the file and what it was to hold. */
export function readUserFile(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new CliError('File', `Cannot read ${what} ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'}).`);
  }
}

function optionLabel(o: OptionSpec): string {
  const long = `--${o.name}${o.value ? ` ${o.value}` : ''}`;
  return o.short ? `-${o.short}, ${long}` : `    ${long}`;
}

const HELP_WIDTH = 100;

/** Wraps `text` to HELP_WIDTH after a first column of `indent` characters. */
function wrap(text: string, indent: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent + line.length + 1 + word.length > HELP_WIDTH) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  lines.push(line);
  return lines.join(`\n${' '.repeat(indent)}`);
}

/** The --help text of a command, from its table entry. */
export function formatHelp(path: string, spec: CommandSpec): string {
  const lines: string[] = [];
  if (spec.subcommands?.length) {
    lines.push(`Usage: kura ${path} <command> [options]`, '', spec.description, '', 'Commands:');
    const width = Math.max(...spec.subcommands.map((s) => s.name.length + (s.args ? s.args.length + 1 : 0)));
    for (const s of spec.subcommands) lines.push(`  ${`${s.name}${s.args ? ` ${s.args}` : ''}`.padEnd(width)}   ${s.summary}`);
    lines.push('', `Run \`kura ${path} <command> --help\` for a command's options.`);
  } else {
    lines.push(`Usage: kura ${path}${spec.args ? ` ${spec.args}` : ''} [options]`, '', spec.description);
  }
  const options = spec.options ?? [HELP_OPTION];
  if (options.length) {
    lines.push('', 'Options:');
    const width = Math.max(...options.map((o) => optionLabel(o).length));
    for (const o of options) lines.push(`  ${optionLabel(o).padEnd(width)}   ${wrap(o.help, width + 5)}`);
  }
  if (spec.footer) lines.push('', spec.footer);
  return lines.join('\n');
}

/** The command table as JSON (`kura help --json`): what the completions are made from. */
export function describeCommand(path: string, spec: CommandSpec): Record<string, unknown> {
  return {
    command: path,
    summary: spec.summary,
    ...(spec.args ? { args: spec.args } : {}),
    options: (spec.options ?? [HELP_OPTION]).map((o) => ({
      name: `--${o.name}`,
      ...(o.short ? { short: `-${o.short}` } : {}),
      ...(o.value ? { value: o.value } : {}),
      ...(o.choices ? { choices: o.choices } : {}),
      help: o.help,
    })),
    ...(spec.subcommands ? { subcommands: spec.subcommands.map((s) => describeCommand(`${path} ${s.name}`, s)) } : {}),
  };
}

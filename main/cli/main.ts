// The `kura` command: finds the command (and subcommand) in the command table, parses its options,
// runs it, and reports errors in one line, or as {"error":{"code","message"}} on stderr with --json.
// One file per command under commands/; what they share is in command.ts (table types, parser,
// output), locate.ts (finding the appliance) and config.ts (settings).
import { approvals } from './commands/approvals.js';
import { audit } from './commands/audit.js';
import { ceremony } from './commands/ceremony.js';
import { completion } from './commands/completion.js';
import { credentials } from './commands/credentials.js';
import { devices } from './commands/devices.js';
import { helpCommand, topHelp } from './commands/help.js';
import { hsm } from './commands/hsm.js';
import { init } from './commands/init.js';
import { keys } from './commands/keys.js';
import { operators } from './commands/operators.js';
import { quorum } from './commands/quorum.js';
import { seal } from './commands/seal.js';
import { serve } from './commands/serve.js';
import { status } from './commands/status.js';
import { stop } from './commands/stop.js';
import { unseal } from './commands/unseal.js';
import { version } from './commands/version.js';
import { xks } from './commands/xks.js';
import { CliError, formatHelp, parseOptions, print, printErr, UsageError, type CommandSpec } from './command.js';
import { ConfigError } from './config.js';

const OTHERS: readonly CommandSpec[] = [serve, init, unseal, seal, status, stop, keys, credentials, audit, hsm, xks, operators, quorum, approvals, ceremony, devices, version, completion];
export const COMMANDS: readonly CommandSpec[] = [...OTHERS, helpCommand([...OTHERS.map((c) => c.name), 'help'])];

/** The arguments before a `--`, where options are. */
const optionWords = (argv: readonly string[]): readonly string[] => {
  const end = argv.indexOf('--');
  return end === -1 ? argv : argv.slice(0, end);
};
const wantsHelp = (argv: readonly string[]): boolean => optionWords(argv).some((a) => a === '--help' || a === '-h');

/** " (did you mean "status"?)" for a near miss. */
function suggestion(word: string, names: readonly string[]): string {
  const distance = (a: string, b: string): number => {
    const d = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = d[0]!;
      d[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = d[j]!;
        d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = cur;
      }
    }
    return d[b.length]!;
  };
  const best = names.map((n) => ({ n, d: distance(word, n) })).sort((x, y) => x.d - y.d)[0];
  return best && best.d <= 2 ? ` (did you mean "${best.n}"?)` : '';
}

function report(e: unknown, path: string, json: boolean, usageExitCode: number): number {
  const prefix = path ? `kura ${path}` : 'kura';
  let code: string;
  let message: string;
  let exit = 1;
  if (e instanceof UsageError) {
    code = e.code;
    message = `${prefix}: ${e.message} (see ${prefix} --help)`;
    exit = usageExitCode;
  } else if (e instanceof CliError) {
    code = e.code;
    message = `${prefix}: ${e.message}`;
    exit = e.exitCode;
  } else if (e instanceof ConfigError) {
    code = 'Config';
    message = `${prefix}: ${e.message}`;
  } else {
    code = (e as NodeJS.ErrnoException | undefined)?.code ?? 'Error';
    message = `${prefix}: ${e instanceof Error ? e.message : String(e)}`;
  }
  printErr(json ? JSON.stringify({ error: { code, message } }) : message);
  return exit;
}

export async function main(argv: string[]): Promise<number> {
  const json = optionWords(argv).includes('--json');
  let path = '';
  let usageExitCode = 2;
  try {
    const [first, ...rest] = argv;
    if (first === undefined) {
      printErr(topHelp(COMMANDS));
      return 2;
    }
    if (first === '--help' || first === '-h') return (print(topHelp(COMMANDS)), 0);
    if (first !== '--version' && first !== '-V' && first.startsWith('-')) throw new UsageError(`unknown option ${first.replace(/=.*/, '')}`);
    const found = first === '--version' || first === '-V' ? version : COMMANDS.find((c) => c.name === first);
    if (!found) throw new UsageError(`unknown command "${first}"${suggestion(first, COMMANDS.map((c) => c.name))}`);
    let spec: CommandSpec = found;
    let args = rest;
    path = spec.name;
    while (spec.subcommands) {
      const names = spec.subcommands.map((s) => s.name);
      const [next, ...after] = args;
      if (next === undefined || next.startsWith('-')) {
        if (wantsHelp(args)) return (print(formatHelp(path, spec)), 0);
        if (next !== undefined && next !== '--json') throw new UsageError(`unknown option ${next.replace(/=.*/, '')}`);
        throw new UsageError(`name a command: ${names.join(', ')}`);
      }
      const sub: CommandSpec | undefined = spec.subcommands.find((s) => s.name === next);
      if (!sub) throw new UsageError(`unknown command "${next}"${suggestion(next, names)}`);
      spec = sub;
      path = `${path} ${sub.name}`;
      args = after;
    }
    usageExitCode = spec.usageExitCode ?? 2;
    if (wantsHelp(args)) return (print(formatHelp(path, spec)), 0);
    const parsed = parseOptions(path, spec, args);
    if (!spec.run) throw new UsageError('name a command');
    return await spec.run({ ...parsed, json, commands: COMMANDS });
  } catch (e) {
    return report(e, path, json, usageExitCode);
  }
}

// `kura help [COMMAND [SUBCOMMAND]]`: the same text as `kura COMMAND --help`, or the command list;
// with --json, the command table itself (commands, options, choices), as the completions use it.
import { KURA_VERSION } from '../../app.js';
import { describeCommand, findCommand, formatHelp, print, printJson, type CommandSpec, type Invocation } from '../command.js';

/** `kura --help`: every command with its summary. */
export function topHelp(commands: readonly CommandSpec[]): string {
  const width = Math.max(...commands.map((c) => c.name.length + (c.args ? c.args.length + 1 : 0)));
  return [
    `kura ${KURA_VERSION} — a key store appliance with an AWS KMS-compatible API`,
    '',
    'Usage: kura <command> [options]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${`${c.name}${c.args ? ` ${c.args}` : ''}`.padEnd(width)}   ${c.summary}`),
    '',
    'Run `kura help <command>` or `kura <command> --help` for a command\'s options; every command takes --json.',
    'Client commands find the appliance through --data-dir / KURA_DATA_DIR, else ./.kura-dev (npm start),',
    'else ~/.local/share/kura, and the endpoint it wrote there (or --endpoint / KURA_ENDPOINT).',
    'Exit codes: 0 done, 1 error, 2 usage error; `kura status`: 0 unsealed, 2 sealed, 1 error.',
  ].join('\n');
}

async function run(inv: Invocation): Promise<number> {
  if (inv.positionals.length === 0) {
    if (inv.json) printJson({ version: KURA_VERSION, commands: inv.commands.map((c) => describeCommand(c.name, c)) });
    else print(topHelp(inv.commands));
    return 0;
  }
  const { spec, path } = findCommand(inv.commands, inv.positionals);
  if (inv.json) printJson(describeCommand(path, spec));
  else print(formatHelp(path, spec));
  return 0;
}

/** `kura help`; its argument completes to `names` (every command, itself included). */
export function helpCommand(names: readonly string[]): CommandSpec {
  return {
    name: 'help',
    summary: 'show the help of a command',
    args: '[COMMAND [SUBCOMMAND]]',
    description: 'Shows the help of a command (the same as `kura COMMAND --help`), or the list of commands.',
    options: [
      { name: 'json', help: 'print the command table (commands, options, choices) as JSON' },
      { name: 'help', short: 'h', help: 'show this help and exit' },
    ],
    completeArgs: names,
    run,
  };
}

// `kura version` (and `kura --version`): this CLI's version, and the Node.js and platform it runs on.
import { KURA_VERSION } from '../../app.js';
import { print, printJson, type CommandSpec, type Invocation } from '../command.js';

async function run(inv: Invocation): Promise<number> {
  const info = { version: KURA_VERSION, node: process.version, platform: process.platform, arch: process.arch };
  if (inv.json) printJson(info);
  else print(`kura ${info.version} (node ${info.node}, ${info.platform}-${info.arch})`);
  return 0;
}

export const version: CommandSpec = {
  name: 'version',
  summary: 'print the version (also kura --version)',
  description: 'Prints the version of this kura command, and the Node.js and platform it runs on.',
  options: [
    { name: 'json', help: 'print {"version","node","platform","arch"} as JSON' },
    { name: 'help', short: 'h', help: 'show this help and exit' },
  ],
  run,
};

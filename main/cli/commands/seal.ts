// `kura seal`: wipes every key and credential secret from the running appliance's memory; KMS calls
// fail until `kura unseal`. A dev appliance refuses (409): it unseals only from its key file when it
// starts, so sealing it would leave it sealed until restarted.
import { adminClient } from '../locate.js';
import { CLIENT_OPTIONS, type CommandSpec, type Invocation } from '../command.js';
import { printStatus, type StatusBody } from './status.js';

async function run(inv: Invocation): Promise<number> {
  const client = adminClient(inv);
  printStatus(await client.call<StatusBody>('POST', '/seal', undefined, true), inv, client.endpoint);
  return 0;
}

export const seal: CommandSpec = {
  name: 'seal',
  summary: 'seal a running appliance (wipes keys from memory)',
  description: `Seals the running appliance: every key and credential secret is wiped from memory and every KMS call
fails until \`kura unseal\`. Needs the admin token from the data directory (or KURA_ADMIN_TOKEN).
A dev appliance (npm start) cannot be sealed: it unseals only from its key file when it starts.
Stop it with \`kura stop\` and restart it with \`npm start\` instead.`,
  options: CLIENT_OPTIONS,
  run,
};

// `kura status`: whether the appliance is initialized, sealed or unsealed, and unseal progress.
// Exit codes as Vault's `vault status`: 0 unsealed, 2 sealed or uninitialized, 1 an error (the
// appliance cannot be reached, a usage error), so that scripts can branch on the code alone.
import { adminClient } from '../locate.js';
import { CLIENT_OPTIONS, print, printJson, type CommandSpec, type Invocation } from '../command.js';

export interface StatusBody {
  state: 'uninitialized' | 'sealed' | 'unsealed';
  mode: string | null;
  threshold: number | null;
  shares: number | null;
  progress: number;
  applianceId?: string;
  version?: string;
}

export function printStatus(s: StatusBody, inv: Invocation, endpoint: string): void {
  if (inv.json) return printJson({ ...s, endpoint });
  print(`State: ${s.state}${s.mode ? ` (${s.mode})` : ''}`);
  if (s.threshold !== null) print(`Shares: ${s.threshold} of ${s.shares} needed to unseal`);
  if (s.state === 'sealed' && s.progress) print(`Unseal progress: ${s.progress}/${s.threshold}`);
  if (s.applianceId) print(`Appliance: ${s.applianceId}`);
  if (s.version) print(`Version: ${s.version}`);
  print(`Endpoint: ${endpoint}`);
}

async function run(inv: Invocation): Promise<number> {
  const client = adminClient(inv);
  const s = await client.call<StatusBody>('GET', '/status');
  printStatus(s, inv, client.endpoint);
  return s.state === 'unsealed' ? 0 : 2;
}

export const status: CommandSpec = {
  name: 'status',
  summary: 'show whether the appliance is initialized and sealed (exit 0 unsealed, 2 sealed)',
  description: `Shows whether the appliance is initialized, sealed or unsealed, and unseal progress.
Exit codes: 0 unsealed; 2 sealed or not initialized; 1 an error (no appliance answers, bad usage).`,
  options: CLIENT_OPTIONS,
  usageExitCode: 1,
  run,
};

// The dev credential's secret, kept readable for `kura credentials env|profile` in dev mode only.
//
// Kura shows a credential's secret once, when it is made; the dev credential is the exception,
// because a dev appliance prints it at every start. `kura serve --dev` writes it to
// <dataDir>/dev-credential.json (0600), and the client commands read it from there. This was chosen
// over an admin API route that returns the secret: no route of any appliance ever hands out a stored
// secret, so neither a leaked admin token nor a production appliance can be made to reveal one, and
// the file adds no exposure, since it lies beside the dev root key (root.key, also 0600), which
// already decrypts every secret in that directory. Production data directories never have it.
import fs from 'node:fs';
import path from 'node:path';
import type { ClientCredential } from './aws-files.js';

export const devCredentialFile = (dataDir: string): string => path.join(dataDir, 'dev-credential.json');

export function writeDevCredential(dataDir: string, c: ClientCredential & { accountId: string; principalArn: string }): void {
  const file = devCredentialFile(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  const body = { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, accountId: c.accountId, principalArn: c.principalArn };
  fs.writeFileSync(tmp, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** The dev credential of a dev data directory; undefined where there is none (any production one). */
export function readDevCredential(dataDir: string): ClientCredential | undefined {
  try {
    const v = JSON.parse(fs.readFileSync(devCredentialFile(dataDir), 'utf8')) as Partial<ClientCredential>;
    if (typeof v.accessKeyId === 'string' && typeof v.secretAccessKey === 'string') return { accessKeyId: v.accessKeyId, secretAccessKey: v.secretAccessKey };
  } catch {
    // absent or unreadable
  }
  return undefined;
}

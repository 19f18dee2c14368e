// The CLI's client for a running appliance's /admin/v1 API.
import fs from 'node:fs';
import path from 'node:path';
import { CliError } from './command.js';

/** The appliance answered with an error, could not be reached, or the admin token is missing. */
export class AdminCallError extends CliError {
  constructor(
    readonly status: number,
    code: string,
    message: string,
  ) {
    super(code, message, 1);
  }
}

export class AdminClient {
  constructor(
    readonly endpoint: string,
    readonly dataDir: string,
    /**
     * Whether the endpoint is the one the data directory's live runtime file names, or one the user
     * named (--endpoint, KURA_ENDPOINT). The data directory's admin token goes nowhere else: with no
     * appliance running on that directory, whatever listens at the default endpoint is not its
     * appliance, and may be another local user's listener, which would keep the token (it does not
     * change when the appliance restarts) and the PIN sent with it.
     */
    readonly endpointOfDataDir = true,
  ) {}

  /**
   * Throws NotRunning unless the endpoint is the data directory's appliance or one the user named:
   * `what` (the admin token, root key shares) goes to no other listener.
   */
  requireOwnAppliance(what: string): void {
    if (this.endpointOfDataDir) return;
    throw new AdminCallError(
      0,
      'NotRunning',
      `No Kura is running on the data directory ${this.dataDir} (no live kura.runtime.json there), so ${what} not sent to ${this.endpoint}. Start it with \`kura serve\`, or pass --data-dir of the running appliance, or --endpoint (the URL \`kura serve\` printed).`,
    );
  }

  private token(): string {
    const env = process.env.KURA_ADMIN_TOKEN;
    if (env) return env;
    const file = path.join(this.dataDir, 'admin.token');
    this.requireOwnAppliance('its admin token is');
    try {
      return fs.readFileSync(file, 'utf8').trim();
    } catch {
      throw new AdminCallError(0, 'NoToken', `Cannot read the admin token at ${file}; pass --data-dir of the running appliance or set KURA_ADMIN_TOKEN.`);
    }
  }

  async call<T>(method: string, route: string, body?: unknown, withToken = false): Promise<T> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (withToken) headers.authorization = `Bearer ${this.token()}`;
    let res: Response;
    try {
      res = await fetch(`${this.endpoint}/admin/v1${route}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(60_000),
      });
    } catch {
      // With no live runtime file the endpoint is only the default: say that nothing runs on the data
      // directory either (after \`kura stop\` of an appliance on another port, the default port's silence
      // read as if the appliance were there and not answering).
      const where = this.endpointOfDataDir
        ? `No Kura answers at ${this.endpoint} (data directory ${this.dataDir})`
        : `No Kura answers at ${this.endpoint}, the default endpoint, and none is running on the data directory ${this.dataDir} (no live kura.runtime.json there)`;
      throw new AdminCallError(0, 'Unreachable', `${where}. Start it with \`kura serve\` (or \`npm start\`), or pass --endpoint / --data-dir.`);
    }
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // non-JSON answer: reported below
    }
    if (!res.ok) {
      throw new AdminCallError(res.status, String(parsed.error ?? res.status), String(parsed.message ?? (text || res.statusText)));
    }
    return parsed as T;
  }
}

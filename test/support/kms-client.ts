// An @aws-sdk/client-kms client pointed at a test Kura, with retries off so error names surface at once.
// Its sockets heed the server's Keep-Alive timeout hint: Node's agent applies the hint (closing an idle
// socket a second before the server would) only when the agent has a timeout of its own, and the SDK's
// default agent has none; without it, a call sent on a socket just as Kura closes it for idleness (5 s)
// fails with "socket hang up", which the SDK would retry but these clients, with one attempt, do not.
import http from 'node:http';
import { KMSClient } from '@aws-sdk/client-kms';
import type { KuraProcess } from './kura-process.js';

export function kmsClient(kura: Pick<KuraProcess, 'url' | 'accessKeyId' | 'secretAccessKey'>, opts: { region?: string; secretAccessKey?: string; accessKeyId?: string } = {}): KMSClient {
  return new KMSClient({
    endpoint: kura.url,
    region: opts.region ?? 'us-east-1',
    credentials: { accessKeyId: opts.accessKeyId ?? kura.accessKeyId, secretAccessKey: opts.secretAccessKey ?? kura.secretAccessKey },
    maxAttempts: 1,
    requestHandler: { httpAgent: new http.Agent({ keepAlive: true, maxSockets: 50, timeout: 60_000 }) },
  });
}

/** The error name a call fails with, or 'ok'. */
export async function errorName(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return (e as Error).name;
  }
}

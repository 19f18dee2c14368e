// An @aws-sdk/client-kms client pointed at a test Kura, with retries off so error names surface at once.
import { KMSClient } from '@aws-sdk/client-kms';
import type { KuraProcess } from './kura-process.js';

export function kmsClient(kura: Pick<KuraProcess, 'url' | 'accessKeyId' | 'secretAccessKey'>, opts: { region?: string; secretAccessKey?: string; accessKeyId?: string } = {}): KMSClient {
  return new KMSClient({
    endpoint: kura.url,
    region: opts.region ?? 'us-east-1',
    credentials: { accessKeyId: opts.accessKeyId ?? kura.accessKeyId, secretAccessKey: opts.secretAccessKey ?? kura.secretAccessKey },
    maxAttempts: 1,
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

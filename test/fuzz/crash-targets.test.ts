// Durability through the requests that used to stop the appliance (issue #8, finding 1), with the AWS
// SDK as the client whose writes are acknowledged: before each former crash target and before an
// oversized validation body (issue #8, finding 4) the test makes acknowledged writes (CreateKey,
// CreateAlias, TagResource) and encrypts data; it proves that
//  - each former crash target (GET and POST) gets a 4xx answer and the process stays up, and the
//    990 KB UntagResource gets a 400 whose body is at most 8 KiB;
//  - nothing acknowledged is lost: every key is there and Enabled with its description, alias and
//    tag, and every ciphertext decrypts to its plaintext — after those requests, and again after
//    kill -9 and a restart on the same data directory.
// When a target does stop the process (the defect), the test restarts it on the same data directory,
// checks that nothing was lost through that crash, and goes on, so that one run names every killer.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DecryptCommand,
  DescribeKeyCommand,
  EncryptCommand,
  ListAliasesCommand,
  ListResourceTagsCommand,
  TagResourceCommand,
  type KMSClient,
} from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { untagFlood } from '../support/fuzz-bodies.js';
import { alive, errorShapeProblem, exchangeRaw, show, signedKmsBytes } from '../support/fuzz-http.js';
import { CRASH_TARGETS, crashCase } from '../support/fuzz-targets.js';
import { kmsClient } from '../support/kms-client.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';

interface Acknowledged {
  keyId: string;
  description: string;
  alias: string;
  tag: { TagKey: string; TagValue: string };
  plaintext: Buffer;
  context: Record<string, string>;
  ciphertext: Uint8Array;
}

let kura: KuraProcess;
let kms: KMSClient;
const acknowledged: Acknowledged[] = [];
/** What went missing after a crash caused by a former crash target (checked when it happened). */
const lostAfterCrashes: string[] = [];
let restarted: KuraProcess | undefined;

beforeAll(async () => {
  kura = await startKura();
  kms = kmsClient(kura);
});

afterAll(async () => {
  await kura?.kill9();
  await restarted?.stop();
  if (kura) fs.rmSync(kura.dataDir, { recursive: true, force: true });
});

/** `n` acknowledged writes: each entry is recorded only once every call for it has answered 200. */
async function acknowledgedWrites(label: string, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const description = `before ${label} #${i}`;
    const created = await kms.send(new CreateKeyCommand({ Description: description }));
    const keyId = created.KeyMetadata!.KeyId!;
    const alias = `alias/crash-${acknowledged.length}`;
    await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
    const tag = { TagKey: 'written-before', TagValue: label.replace(/[^\w.:/=+@ -]/g, '_').slice(0, 200) || 'x' };
    await kms.send(new TagResourceCommand({ KeyId: keyId, Tags: [tag] }));
    const plaintext = randomBytes(64);
    const context = { label: tag.TagValue, n: String(i) };
    const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: alias, Plaintext: plaintext, EncryptionContext: context }));
    acknowledged.push({ keyId, description, alias, tag, plaintext, context, ciphertext: CiphertextBlob! });
  }
}

/** Everything acknowledged that `client` cannot find or use as it was (empty when nothing was lost). */
async function lost(client: KMSClient): Promise<string[]> {
  const missing: string[] = [];
  const aliases = new Map<string, string>();
  let marker: string | undefined;
  do {
    const page = await client.send(new ListAliasesCommand({ Limit: 100, Marker: marker }));
    for (const a of page.Aliases ?? []) if (a.AliasName && a.TargetKeyId) aliases.set(a.AliasName, a.TargetKeyId);
    marker = page.Truncated ? page.NextMarker : undefined;
  } while (marker);
  for (const a of acknowledged) {
    try {
      const d = await client.send(new DescribeKeyCommand({ KeyId: a.keyId }));
      if (d.KeyMetadata?.KeyState !== 'Enabled') missing.push(`${a.keyId}: state ${d.KeyMetadata?.KeyState}`);
      if (d.KeyMetadata?.Description !== a.description) missing.push(`${a.keyId}: description ${JSON.stringify(d.KeyMetadata?.Description)}`);
      if (aliases.get(a.alias) !== a.keyId) missing.push(`${a.alias}: points at ${aliases.get(a.alias) ?? 'nothing'}`);
      const tags = await client.send(new ListResourceTagsCommand({ KeyId: a.keyId }));
      if (!(tags.Tags ?? []).some((t) => t.TagKey === a.tag.TagKey && t.TagValue === a.tag.TagValue)) missing.push(`${a.keyId}: tag ${a.tag.TagKey}=${a.tag.TagValue}`);
      const p = await client.send(new DecryptCommand({ CiphertextBlob: a.ciphertext, EncryptionContext: a.context }));
      if (!Buffer.from(p.Plaintext!).equals(a.plaintext) || p.KeyId?.endsWith(a.keyId) !== true) missing.push(`${a.keyId}: ciphertext decrypts differently`);
    } catch (e) {
      missing.push(`${a.keyId}: ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  return missing;
}

/** Resolves true if the process exits within `ms`. */
function exitsWithin(proc: KuraProcess['proc'], ms: number): Promise<boolean> {
  if (!alive(proc)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      proc.off('exit', onExit);
      resolve(false);
    }, ms);
    const onExit = () => {
      clearTimeout(timer);
      resolve(true);
    };
    proc.once('exit', onExit);
  });
}

describe('acknowledged writes survive every former crash target, the oversized validation body and kill -9', () => {
  it('answers each former crash target (GET, POST) with a 4xx and the 990 KB UntagResource with a bounded 400, staying up', async () => {
    const problems: string[] = [];
    const deaths: string[] = [];
    const attacks = [...CRASH_TARGETS.flatMap((t) => ['GET', 'POST'].map((m) => ({ target: t, method: m }))), { target: '', method: 'UntagResource flood' }];
    for (const { target, method } of attacks) {
      const label = `${method} ${target}`.trim();
      await acknowledgedWrites(label, 2);
      let a;
      if (method === 'UntagResource flood') {
        const body = untagFlood(acknowledged[acknowledged.length - 1]!.keyId);
        a = await exchangeRaw(await signedKmsBytes(kura, 'UntagResource', body), { port: kura.port, timeoutMs: 10_000, maxBytes: 64 * 1024 });
        if (a.status !== 400) problems.push(`${label}: status ${a.status ?? a.outcome}, want 400`);
        const size = Number(a.headers['content-length'] ?? a.raw.length);
        if (a.outcome === 'oversize' || size > 8 * 1024) problems.push(`${label}: error body of ${size} bytes, want at most 8192`);
      } else {
        const c = crashCase(target, method, kura.port);
        a = await exchangeRaw(c.bytes, { port: kura.port, timeoutMs: 5_000, halfCloseAfterMs: 1_500 });
        if (a.status === undefined || a.status < 400 || a.status >= 500) problems.push(`${label}: ${a.status ?? `${a.outcome} without an answer`}, want a 4xx`);
        else {
          const shape = errorShapeProblem(a.body, a.headers, ['kms']);
          if (shape !== undefined) problems.push(`${label}: ${shape}`);
        }
      }
      if (a.status === undefined ? await exitsWithin(kura.proc, 300) : !alive(kura.proc)) {
        const error = /(?:^|\n)\s*(\w*Error\b[^\n]*)/.exec(kura.stderr())?.[1] ?? show(kura.stderr().slice(-200), 200);
        deaths.push(`${label} stopped the process (exit ${kura.proc.exitCode ?? kura.proc.signalCode}): ${error}`);
        // The defect itself: restart on the same data and check what the crash cost.
        kura = await startKura({ dataDir: kura.dataDir });
        kms = kmsClient(kura);
        lostAfterCrashes.push(...(await lost(kms)).map((m) => `after ${label}: ${m}`));
      }
    }
    expect(deaths).toEqual([]);
    expect(problems).toEqual([]);
    expect(acknowledged.length).toBe(attacks.length * 2);
  }, 120_000);

  it('loses nothing acknowledged: not through those requests, and not through kill -9 and a restart', async () => {
    expect(acknowledged.length, 'the previous test made acknowledged writes').toBeGreaterThan(0);
    const before = await lost(kms);
    await kura.kill9();
    expect(kura.proc.signalCode).toBe('SIGKILL');
    restarted = await startKura({ dataDir: kura.dataDir });
    const after = await lost(kmsClient(restarted));
    expect({ lostAfterCrashes, before, after }).toEqual({ lostAfterCrashes: [], before: [], after: [] });
  }, 120_000);
});

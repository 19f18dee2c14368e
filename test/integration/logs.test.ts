// Structured logs carry no secrets: at debug level, after encrypting, decrypting and making data
// keys (and a few failures), the log has none of the plaintexts, data keys or the secret access key; a
// flood of bad signatures is one line, not one each; the start line says what an operator needs.
import { DecryptCommand, EncryptCommand, GenerateDataKeyCommand, CreateKeyCommand } from '@aws-sdk/client-kms';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorName, kmsClient } from '../support/kms-client.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';

describe('logs', () => {
  let kura: KuraProcess;
  beforeAll(async () => {
    kura = await startKura({ args: ['--log-level', 'debug'] });
  });
  afterAll(async () => {
    await kura.stop();
  });

  it('are JSON lines without plaintexts, data keys or secrets', async () => {
    const kms = kmsClient(kura);
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({}));
    const keyId = KeyMetadata!.KeyId!;
    const secrets: Buffer[] = [];
    for (let i = 0; i < 5; i++) {
      const plaintext = randomBytes(48);
      secrets.push(plaintext);
      const { CiphertextBlob } = await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: plaintext }));
      const out = await kms.send(new DecryptCommand({ CiphertextBlob }));
      expect(Buffer.from(out.Plaintext!)).toEqual(plaintext);
      const dk = await kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }));
      secrets.push(Buffer.from(dk.Plaintext!));
    }
    expect(await errorName(kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: randomBytes(5000) })))).toBe('ValidationException');
    // A flood of bad signatures costs the log one line (and, when its window ends, one count line).
    const forger = kmsClient(kura, { secretAccessKey: 'x'.repeat(40) });
    const refused = await Promise.all(Array.from({ length: 200 }, () => errorName(forger.send(new CreateKeyCommand({})))));
    expect(new Set(refused)).toEqual(new Set(['InvalidSignatureException']));
    await kura.stop();
    const log = kura.stderr();
    const lines = log.trim().split('\n');
    expect(lines.length).toBeGreaterThan(10);
    for (const line of lines) expect(() => JSON.parse(line)).not.toThrow();
    expect(log).toContain('"operation":"Encrypt"');
    const forged = lines.filter((l) => l.includes('"kms call') && l.includes('"error":"InvalidSignature"')).map((l) => JSON.parse(l) as Record<string, unknown>);
    // The first in full; the rest counted, the count written at the stop at the latest.
    expect(forged).toHaveLength(2);
    expect(forged[1]).toMatchObject({ msg: 'kms call: more like it were only counted', notLogged: 199 });
    // The start line says which build and process this is, where it listens and what it serves.
    const started = JSON.parse(lines.find((l) => l.includes('"kura started"'))!) as Record<string, unknown>;
    expect(started).toMatchObject({ endpoint: kura.url, dataDir: kura.dataDir, dev: true, state: 'unsealed', pid: kura.proc.pid, version: expect.stringMatching(/^\d+\.\d+\.\d+/) as unknown });
    for (const s of secrets) {
      for (const form of [s.toString('base64'), s.toString('hex'), s.toString('base64').slice(0, 24)]) expect(log).not.toContain(form);
    }
    expect(log).not.toContain(kura.secretAccessKey);
  });
});

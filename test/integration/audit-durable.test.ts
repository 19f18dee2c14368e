// Every call's audit entry is on the disk before the call is answered, reads and refusals included.
// "On the disk" is what SQLite's synchronous=FULL gives: the commit syncs the WAL (fdatasync) before
// it returns. A commit that only reaches the operating system's cache (synchronous=NORMAL) survives
// `kill -9` but not a power cut, and an answer sent before the sync would be an answered call that a
// power cut can erase from the log. Nothing in the process can show the difference, so this test
// watches the system calls of a real `kura serve` with strace: between reading a request and writing
// its answer on that connection, a sync of the database's WAL must have started and completed.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CreateKeyCommand, DescribeKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kmsClient, errorName } from '../support/kms-client.js';
import { startKura, type KuraProcess } from '../support/kura-process.js';
import { adminCaller, xksCall } from '../support/xks-client.js';

const STRACE = '/usr/bin/strace';

/** One syscall as strace printed it, entry and result joined (a call another thread interrupted is printed in two lines). */
interface Syscall {
  pid: string;
  name: string;
  /** The first argument as printed with -yy: `12<TCP:[127.0.0.1:7420->127.0.0.1:40000]>` or `5</tmp/d/kura.db-wal>`. */
  fd: string;
  text: string;
  /** Index of the line where it started and of the line where its result was printed. */
  start: number;
  end: number;
  result: string;
}

function parseStrace(file: string): Syscall[] {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  const open = new Map<string, Syscall>();
  const calls: Syscall[] = [];
  lines.forEach((line, i) => {
    const resumed = /^(\d+) +<\.\.\. (\w+) resumed>(.*)\) += (.*)$/.exec(line);
    if (resumed) {
      const call = open.get(resumed[1]!);
      if (call && call.name === resumed[2]) {
        open.delete(resumed[1]!);
        calls.push({ ...call, text: call.text + resumed[3]!, end: i, result: resumed[4]! });
      }
      return;
    }
    const started = /^(\d+) +(\w+)\((\d+<(?:[^<>]|<[^>]*>)*>)(.*)$/.exec(line);
    if (!started) return;
    const [, pid, name, fd, rest] = started as unknown as [string, string, string, string, string];
    const unfinished = / <unfinished \.\.\.>$/.exec(rest);
    if (unfinished) {
      open.set(pid, { pid, name, fd, text: rest.slice(0, unfinished.index), start: i, end: -1, result: '' });
      return;
    }
    const done = /\) += (.*)$/.exec(rest);
    calls.push({ pid, name, fd, text: done ? rest.slice(0, done.index) : rest, start: i, end: i, result: done?.[1] ?? '' });
  });
  return calls;
}

/**
 * For the request whose bytes include `marker`: the answer written on its connection, and the syncs of
 * the database's WAL that started after the request was read and completed before that answer.
 */
function syncsBeforeAnswer(calls: Syscall[], marker: string): { answer: string; syncs: Syscall[] } {
  const request = calls.find((c) => c.name === 'read' && c.fd.includes('TCP:') && c.text.includes(marker));
  if (!request) throw new Error(`strace saw no request carrying ${marker}`);
  const answer = calls.find((c) => (c.name === 'write' || c.name === 'writev') && c.fd === request.fd && c.start > request.end);
  if (!answer) throw new Error(`strace saw no answer to the request carrying ${marker}`);
  const syncs = calls.filter(
    (c) => (c.name === 'fdatasync' || c.name === 'fsync') && /kura\.db-wal>$/.test(c.fd) && c.start > request.end && c.end < answer.start && c.result === '0',
  );
  return { answer: answer.text.slice(0, 200), syncs };
}

describe("a call's audit entry reaches the disk before its answer (strace on a real kura serve)", () => {
  let kura: KuraProcess;
  let strace: ChildProcess | undefined;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kura-audit-durable-'));
  const traceFile = path.join(work, 'trace.txt');
  let calls: Syscall[] = [];
  const keyRef: { keyId?: string } = {};
  let xks: { status: number; json: unknown } | undefined;

  beforeAll(async () => {
    expect(fs.existsSync(STRACE), 'strace is needed (Debian: apt-get install strace; npm test installs it as root)').toBe(true);
    kura = await startKura();
    const kms = kmsClient(kura);
    const admin = adminCaller(kura);
    keyRef.keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const store = (await admin('POST', '/xks/stores', { uriPathPrefix: 'durable' })).json as { storeId: string; uriPath: string; accessKeyId: string; secretAccessKey: string };
    const xksKey = (await admin('POST', `/xks/stores/${store.storeId}/keys`, { usage: ['ENCRYPT', 'DECRYPT'] })).json.externalKeyId as string;

    // Attached to the running server (all its threads, and any it starts: SQLite syncs on libuv's pool).
    strace = spawn(STRACE, ['-f', '-p', String(kura.proc.pid), '-yy', '-s', '8192', '-e', 'trace=read,write,writev,fsync,fdatasync', '-e', 'signal=none', '-o', traceFile], { stdio: ['ignore', 'ignore', 'pipe'] });
    let said = '';
    strace.stderr!.on('data', (d: Buffer) => (said += d.toString()));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`strace did not attach in 10 s: ${said}`)), 10_000);
      const check = () => {
        if (/attached/.test(said)) {
          clearTimeout(timer);
          resolve();
        }
      };
      strace!.stderr!.on('data', check);
      strace!.once('exit', (code) => reject(new Error(`strace exited with ${code} before attaching (ptrace refused?): ${said}`)));
    });
    // Every thread is attached once strace says the last one is: give it a moment past the first line.
    await new Promise((r) => setTimeout(r, 300));

    await kms.send(new DescribeKeyCommand({ KeyId: keyRef.keyId }));
    await kms.send(new EncryptCommand({ KeyId: keyRef.keyId, Plaintext: Buffer.from('durable-probe-encrypt') }));
    expect(await errorName(kms.send(new DescribeKeyCommand({ KeyId: 'alias/durable-probe-absent' })))).toBe('NotFoundException');
    xks = await xksCall(kura, store, `/keys/${xksKey}/encrypt`, {
      requestMetadata: { awsPrincipalArn: 'arn:aws:iam::123456789012:user/Alice', kmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd', kmsOperation: 'Encrypt', kmsRequestId: 'durable-probe-xks' },
      plaintext: Buffer.from('x').toString('base64'),
      encryptionAlgorithm: 'AES_GCM',
    });

    const exited = new Promise((r) => strace!.once('exit', r));
    strace.kill('SIGINT');
    await exited;
    strace = undefined;
    calls = parseStrace(traceFile);
  }, 60_000);

  afterAll(async () => {
    strace?.kill('SIGKILL');
    await kura?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it('a read (DescribeKey): its entry is synced before the answer is written', () => {
    const { answer, syncs } = syncsBeforeAnswer(calls, keyRef.keyId!);
    expect(answer).toContain('HTTP/1.1 200');
    expect(syncs.length).toBeGreaterThanOrEqual(1);
  });

  it('a cryptographic call that changes nothing (Encrypt)', () => {
    const { answer, syncs } = syncsBeforeAnswer(calls, 'TrentService.Encrypt');
    expect(answer).toContain('HTTP/1.1 200');
    expect(syncs.length).toBeGreaterThanOrEqual(1);
  });

  it('a refused call (NotFoundException)', () => {
    const { answer, syncs } = syncsBeforeAnswer(calls, 'alias/durable-probe-absent');
    expect(answer).toContain('HTTP/1.1 400');
    expect(syncs.length).toBeGreaterThanOrEqual(1);
  });

  it('an XKS proxy Encrypt', () => {
    expect(xks?.status, JSON.stringify(xks)).toBe(200);
    const { answer, syncs } = syncsBeforeAnswer(calls, 'durable-probe-xks');
    expect(answer).toContain('HTTP/1.1 200');
    expect(syncs.length).toBeGreaterThanOrEqual(1);
  });

  it('the trace is one strace can be trusted on: it saw the server read and write its sockets', () => {
    expect(spawnSync(STRACE, ['-V']).status).toBe(0);
    expect(calls.filter((c) => c.fd.includes('TCP:')).length).toBeGreaterThanOrEqual(8);
  });
});

// The guard on kura serve's stdout and stderr (main/common/output-streams.ts): when the banner's stdout
// fails, the note that says so goes to the log as a log line, so a log of JSON lines stays JSON lines.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../main/common/log.js';
import { keepOutputFailuresFromStopping } from '../../main/common/output-streams.js';

function sink(chunks: string[]): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
}

describe('keepOutputFailuresFromStopping', () => {
  it('says a failed stdout on the log as a warn line in its format', async () => {
    const stdout = sink([]);
    const errLines: string[] = [];
    const stderr = sink(errLines);
    const guard = keepOutputFailuresFromStopping([
      { name: 'stdout', stream: stdout },
      { name: 'stderr', stream: stderr },
    ]);
    guard.logTo(createLogger('info', (l) => stderr.write(l), 'json'));
    stdout.emit('error', Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    stdout.write('banner line\n');
    await expect.poll(() => errLines.length).toBe(1);
    const line = JSON.parse(errLines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 'warn', stream: 'stdout', code: 'EPIPE' });
    expect(line.msg).toMatch(/^writing to stdout failed/);
    expect(guard.dropped()).toEqual({ stdout: 1, stderr: 0 });
  });

  it('says a failed stderr (the log) on stdout in plain text', async () => {
    const outLines: string[] = [];
    const stdout = sink(outLines);
    const stderr = sink([]);
    const guard = keepOutputFailuresFromStopping([
      { name: 'stdout', stream: stdout },
      { name: 'stderr', stream: stderr },
    ]);
    guard.logTo(createLogger('info', (l) => stderr.write(l), 'json'));
    stderr.emit('error', Object.assign(new Error('write ENOSPC'), { code: 'ENOSPC' }));
    await expect.poll(() => outLines.join('')).toMatch(/^kura: writing to stderr failed \(ENOSPC\)/);
  });
});

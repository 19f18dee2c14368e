// The logger (main/common/log.ts): a line that cannot be written is lost, never an error for the caller
// (a KMS call or a stop in progress must not fail because the log's stream did).
import { describe, expect, it } from 'vitest';
import { KmsError } from '../../main/common/errors.js';
import { CoalescedLines, createLogger, errorFields, errorTrace, MAX_FIELD_CHARS } from '../../main/common/log.js';

describe('createLogger', () => {
  it('never throws when its write does', () => {
    const log = createLogger('debug', () => {
      throw Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    });
    expect(() => log.error('a failure', { code: 'X' })).not.toThrow();
    expect(() => log.info('a call')).not.toThrow();
  });
});

describe('errorTrace', () => {
  // An unexpected error's message may quote what a request sent; `stack` starts with it.
  it('keeps the type and the frames of an error, never its message', () => {
    const e = new TypeError('Unexpected token in "PIN=123456\n    at quoted-secret"');
    const trace = errorTrace(e);
    expect(trace.startsWith('TypeError\n    at ')).toBe(true);
    expect(trace).not.toContain('123456');
    expect(trace).not.toContain('quoted-secret');
    expect(trace.split('\n').length).toBeGreaterThan(1);
  });

  it('keeps only frame-shaped lines of a stack that does not start with the message', () => {
    const e = new Error('x');
    e.stack = 'rewritten: secret-one\n    at f (file.js:1:1)\nsecret-two';
    expect(errorTrace(e)).toBe('Error\n    at f (file.js:1:1)');
  });

  it('names the type of what is not an Error', () => {
    expect(errorTrace('a thrown string with a secret')).toBe('string');
  });
});

describe('errorFields', () => {
  it("keeps an errno or SQLite code beside the trace, and no code of another shape (an error's properties may be caller data)", () => {
    const sys = Object.assign(new Error("ENOSPC: no space left on device, write '/secret/path'"), { code: 'ENOSPC' });
    expect(errorFields(sys)).toEqual({ error: errorTrace(sys), code: 'ENOSPC' });
    expect(JSON.stringify(errorFields(sys))).not.toContain('/secret/path');
    expect(errorFields(Object.assign(new Error('x'), { code: 'SQLITE_BUSY' })).code).toBe('SQLITE_BUSY');
    for (const code of ['pin 123456', 'E', 'enospc', 42, { toString: () => 'ENOSPC' }, 'E'.repeat(41)]) {
      expect(errorFields(Object.assign(new Error('x'), { code })), String(code)).not.toHaveProperty('code');
    }
    expect(errorFields('a thrown string')).toEqual({ error: 'string' });
  });

  it("keeps a KmsError's code (Kura's own vocabulary: what kind of failure it was), never its message", () => {
    const e = new KmsError('KeyUnavailable', 'key arn:aws:kms:eu-west-1:111122223333:key/secret-id is unavailable');
    expect(errorFields(e)).toEqual({ error: errorTrace(e), code: 'KeyUnavailable' });
    expect(JSON.stringify(errorFields(e))).not.toContain('secret-id');
  });
});

describe('CoalescedLines', () => {
  it('writes a coalesced warning, and its count, at warn', () => {
    const lines: Record<string, unknown>[] = [];
    const c = new CoalescedLines(createLogger('info', (l) => lines.push(JSON.parse(l) as Record<string, unknown>)), 60_000);
    for (let i = 0; i < 3; i++) c.warn({ source: 'tls' }, 'refused', { remote: `r${i}` });
    c.flush();
    expect(lines).toEqual([
      expect.objectContaining({ level: 'warn', msg: 'refused', remote: 'r0' }),
      expect.objectContaining({ level: 'warn', msg: 'refused: more like it were only counted', source: 'tls', notLogged: 2 }),
    ]);
  });

  it('writes the first line of a key per window, counts the rest, and says how many when the window ends', async () => {
    const lines: Record<string, unknown>[] = [];
    const c = new CoalescedLines(createLogger('info', (l) => lines.push(JSON.parse(l) as Record<string, unknown>)), 50);
    for (let i = 0; i < 500; i++) c.info({ source: 'kms', error: 'InvalidSignature' }, 'kms call', { requestId: `r${i}`, error: 'InvalidSignature' });
    c.info({ source: 'kms', error: 'UnrecognizedClient' }, 'kms call', { requestId: 'other', error: 'UnrecognizedClient' });
    expect(lines.map((l) => l.requestId)).toEqual(['r0', 'other']);
    await expect.poll(() => lines.length).toBe(3);
    expect(lines[2]).toMatchObject({ level: 'info', msg: 'kms call: more like it were only counted', source: 'kms', error: 'InvalidSignature', notLogged: 499 });
    // The window has ended: the next line is written in full again.
    c.info({ source: 'kms', error: 'InvalidSignature' }, 'kms call', { requestId: 'again' });
    expect(lines.at(-1)).toMatchObject({ requestId: 'again' });
  });

  it('writes every open window\'s count on flush (a stop)', () => {
    const lines: Record<string, unknown>[] = [];
    const c = new CoalescedLines(createLogger('info', (l) => lines.push(JSON.parse(l) as Record<string, unknown>)), 60_000);
    for (let i = 0; i < 3; i++) c.info({ error: 'A' }, 'refused', {});
    c.info({ error: 'B' }, 'refused', {});
    c.flush();
    expect(lines.map((l) => [l.error, l.notLogged])).toEqual([[undefined, undefined], [undefined, undefined], ['A', 2]]);
  });

  it('holds a bounded number of keys: past them, lines share one window', () => {
    const lines: string[] = [];
    const c = new CoalescedLines(createLogger('info', (l) => lines.push(l)), 60_000);
    for (let i = 0; i < 1000; i++) c.info({ error: `E${i}` }, 'refused', { n: i });
    expect(lines).toHaveLength(CoalescedLines.MAX_KEYS + 1);
  });
});

describe('a value a request sent', () => {
  const both = (fields: Record<string, string>, msg = 'kms call') =>
    (['json', 'text'] as const).map((format) => {
      const lines: string[] = [];
      createLogger('info', (l) => lines.push(l), format).info(msg, fields);
      expect(lines).toHaveLength(1);
      return lines[0]!;
    });

  it('cannot break a line or reorder what a terminal shows: separators and format characters are escaped', () => {
    // U+2028/9 break a line in some viewers; U+202E shows what follows right to left; U+200B is invisible.
    const evil = 'alias/a\u2028{"level":"error"}\u2029b\u202Eexe.txt\u200B\u{E0041}';
    for (const line of both({ keyRef: evil }, `msg ${evil}`)) {
      expect(line.slice(0, -1)).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
      expect(line).toContain('\\u2028');
      expect(line).toContain('\\u202e');
      expect(line.endsWith('\n')).toBe(true);
    }
    const [json] = both({ keyRef: evil });
    expect((JSON.parse(json!) as { keyRef: string }).keyRef).toBe(evil);
  });

  it('is cut at MAX_FIELD_CHARS, saying how much more there was', () => {
    for (const line of both({ keyRef: 'k'.repeat(1_000_000) })) {
      expect(line.length).toBeLessThan(MAX_FIELD_CHARS + 200);
      expect(line).toContain(`(${1_000_000 - MAX_FIELD_CHARS} more characters)`);
    }
  });

  it('cannot take the place of time, level or msg', () => {
    const [json] = both({ level: 'error', msg: 'forged', time: 'then' });
    expect(JSON.parse(json!)).toMatchObject({ level: 'info', msg: 'kms call' });
    expect((JSON.parse(json!) as { time: string }).time).not.toBe('then');
  });
});

// The `kura` command's shared parsing, in process (main/cli/command.ts and main/cli/main.ts): whole-number
// options, the option parser's edge cases, exit codes and --json error lines. The same surface is run
// as spawned processes in test/integration/cli-usage.test.ts; these cases are the ones that need many
// inputs (every bad number, every command's --help), which a process per case would make slow.
//
// Exit codes: 0 success, 2 a usage error (bad option value included), 1 any other failure
// (`kura status`: 1 for a usage error too, since its 2 means sealed).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { intOption, parseOptions, UsageError, type CommandSpec, type Invocation } from '../../main/cli/command.js';
import { COMMANDS, main } from '../../main/cli/main.js';

/** Runs `kura args…` in this process and returns its exit code and what it printed. */
async function kura(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => ((stderr += String(chunk)), true));
  try {
    const code = await main(args);
    return { code, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

const inv = (values: Invocation['values']): Invocation => ({ path: 'test', values, positionals: [], json: false, commands: [] });

// Usage errors must never reach an appliance: point every client setting at nothing.
let saved: NodeJS.ProcessEnv;
beforeEach(() => {
  saved = { ...process.env };
  process.env.KURA_ENDPOINT = 'http://127.0.0.1:1';
  process.env.KURA_DATA_DIR = '/nonexistent/kura-cli-command-test';
  delete process.env.KURA_CONFIG;
});
afterEach(() => {
  process.env = saved;
});

describe('whole-number options (intOption)', () => {
  it('accept decimal digits only, from min to max inclusive', () => {
    expect(intOption(inv({ n: '0' }), 'n', 0, 10)).toBe(0);
    expect(intOption(inv({ n: '10' }), 'n', 0, 10)).toBe(10);
    expect(intOption(inv({ n: '007' }), 'n', 0, 10)).toBe(7);
    expect(intOption(inv({}), 'n', 0, 10)).toBeUndefined();
  });

  it('refuse, as a usage error naming the option and the range, anything else', () => {
    // Number() would take most of these ('' and ' 5' as numbers, '1e1' as 10, '0x5' as 5), and a
    // looser pattern would let '5x' through as NaN, which no range comparison refuses.
    for (const bad of ['', ' 5', '5 ', '5x', 'x5', '1.5', '-1', '+1', '1e1', '0x5', '11', '99999999999999999999']) {
      let error: unknown;
      try {
        intOption(inv({ n: bad }), 'n', 1, 10);
      } catch (e) {
        error = e;
      }
      expect(error, JSON.stringify(bad)).toBeInstanceOf(UsageError);
      expect((error as UsageError).exitCode).toBe(2);
      expect((error as UsageError).message).toBe(`--n must be a whole number from 1 to 10, not "${bad}"`);
    }
    // Below min: 0 when the range starts at 1.
    expect(() => intOption(inv({ n: '0' }), 'n', 1, 10)).toThrow(/from 1 to 10, not "0"/);
    // A boolean flag given where a number belongs is refused too.
    expect(() => intOption(inv({ n: true }), 'n', 1, 10)).toThrow(UsageError);
  });

  it('a bad number on a real command exits 2 with one line on stderr and nothing on stdout, before any appliance or database is needed', async () => {
    const cases: [string[], string][] = [
      [['init', '--shares', '0', '--threshold', '1'], 'kura init: --shares must be a whole number from 1 to 255, not "0"'],
      [['init', '--shares', '3', '--threshold', '256'], 'kura init: --threshold must be a whole number from 1 to 255, not "256"'],
      [['init', '--shares', '3x', '--threshold', '2'], 'kura init: --shares must be a whole number from 1 to 255, not "3x"'],
      [['audit', 'list', '--limit', '1000000001'], 'kura audit list: --limit must be a whole number from 0 to 1000000000, not "1000000001"'],
      [['audit', 'tail', '-n2.5'], 'kura audit tail: --lines must be a whole number from 0 to 1000000, not "2.5"'],
      [['quorum', 'set', 'backup', '--threshold', '101', '--operators', 'a'], 'kura quorum set: --threshold must be a whole number from 1 to 100, not "101"'],
    ];
    for (const [args, message] of cases) {
      const r = await kura(...args);
      expect(r, args.join(' ')).toEqual({ code: 2, stdout: '', stderr: `${message} (see ${message.split(':')[0]} --help)\n` });
      const json = await kura(...args, '--json');
      expect(json.code).toBe(2);
      expect(json.stdout).toBe('');
      expect(JSON.parse(json.stderr)).toEqual({ error: { code: 'Usage', message: `${message} (see ${message.split(':')[0]} --help)` } });
    }
  });
});

describe('the option parser', () => {
  const spec: CommandSpec = {
    name: 'demo',
    summary: '',
    description: '',
    args: '[ARG…]',
    options: [
      { name: 'count', short: 'n', value: 'N', help: '' },
      { name: 'file', value: 'F', help: '', multiple: true },
      { name: 'force', short: 'f', help: '' },
    ],
  };

  it('does not take the next option as a value: `--count --force` is a missing value, not count = "--force"', () => {
    expect(() => parseOptions('demo', spec, ['--count', '--force'])).toThrow('option --count needs a value (N)');
    expect(() => parseOptions('demo', spec, ['-n', '-f'])).toThrow('option --count needs a value (N)');
    // A lone "-" (standard input, by convention) is a value.
    expect(parseOptions('demo', spec, ['--count', '-']).values).toEqual({ count: '-' });
  });

  it('takes -n5 as -n 5, --count=5 as --count 5, and a repeated multiple option as a list in order', () => {
    expect(parseOptions('demo', spec, ['-n5']).values).toEqual({ count: '5' });
    expect(parseOptions('demo', spec, ['--count=5']).values).toEqual({ count: '5' });
    expect(parseOptions('demo', spec, ['--file', 'a', '--file=b', '--file', 'c']).values).toEqual({ file: ['a', 'b', 'c'] });
    expect(() => parseOptions('demo', spec, ['--force=yes'])).toThrow('option --force takes no value');
    // Only an option that takes a value can have it attached: -fx is not -f with "x".
    expect(() => parseOptions('demo', spec, ['-fx'])).toThrow('unknown option -fx');
  });

  it('treats everything after -- as arguments, options included', () => {
    expect(parseOptions('demo', spec, ['-f', '--', '--count', '-n'])).toEqual({ path: 'demo', values: { force: true }, positionals: ['--count', '-n'] });
  });
});

describe('--help on every command', () => {
  const paths: { words: string[]; spec: CommandSpec }[] = [];
  const walk = (words: string[], spec: CommandSpec) => {
    paths.push({ words, spec });
    for (const s of spec.subcommands ?? []) walk([...words, s.name], s);
  };
  for (const c of COMMANDS) walk([c.name], c);

  it('exits 0 and prints the usage line and every option on stdout, nothing on stderr, wherever --help stands', async () => {
    expect(paths.length).toBeGreaterThan(40);
    for (const { words, spec } of paths) {
      for (const args of [[...words, '--help'], [...words, '-h'], [...words, '--no-such-option', '--help']]) {
        const r = await kura(...args);
        expect(r.code, args.join(' ')).toBe(0);
        expect(r.stderr, args.join(' ')).toBe('');
        expect(r.stdout.startsWith(`Usage: kura ${words.join(' ')} `), args.join(' ')).toBe(true);
        for (const o of spec.options ?? []) expect(r.stdout, `${args.join(' ')}: --${o.name}`).toContain(`--${o.name}`);
      }
    }
  });

  it('--help after -- is an argument, not a request for help', async () => {
    // `kura seal` takes no arguments: the word after -- is refused as one, exit 2.
    const r = await kura('seal', '--', '--help');
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('kura seal: unexpected argument "--help" (see kura seal --help)\n');
  });
});

// What the CLI prints for an operator to read (main/cli/command.ts print/printErr) may hold what someone
// else typed — a credential's description, a token label, a refused input. Control characters and the
// bidirectional overrides are shown as escapes, so that none moves the cursor, clears a line or
// reorders the text on the operator's terminal; line feeds and tabs stay, and JSON output is JSON's own.
import { describe, expect, it } from 'vitest';
import { oneLine, terminalSafe } from '../../main/cli/command.js';

describe('terminalSafe', () => {
  it('escapes C0 and C1 controls, DEL, carriage returns and bidi overrides; keeps text, tabs and line feeds', () => {
    expect(terminalSafe('desc\u001b[2K\u001b[1Gforged')).toBe('desc\\u001b[2K\\u001b[1Gforged');
    expect(terminalSafe('a\rb')).toBe('a\\u000db');
    expect(terminalSafe('x\u007fy\u0085z\u009b')).toBe('x\\u007fy\\u0085z\\u009b');
    expect(terminalSafe('abc\u202edef\u2066g\u2028h')).toBe('abc\\u202edef\\u2066g\\u2028h');
    const plain = 'AKIA…  arn:aws:iam::111122223333:user/kura-dev\tcafé 鍵 ✓\n';
    expect(terminalSafe(plain)).toBe(plain);
  });
});

describe('oneLine', () => {
  it("escapes line feeds and tabs as well, so that a value someone else wrote stays in its row and column", () => {
    expect(oneLine('label\nkura-xks-forged  00  nothing (orphan)')).toBe('label\\u000akura-xks-forged  00  nothing (orphan)');
    expect(oneLine('a\tb')).toBe('a\\u0009b');
    expect(terminalSafe(oneLine('x\n\u001by'))).toBe('x\\u000a\\u001by');
    expect(oneLine('café 鍵 arn:aws:kms:us-east-1:111122223333:key/1')).toBe('café 鍵 arn:aws:kms:us-east-1:111122223333:key/1');
  });
});

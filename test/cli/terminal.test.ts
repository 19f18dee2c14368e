// What the CLI prints for an operator to read (main/cli/command.ts print/printErr) may hold what someone
// else typed — a credential's description, a token label, a refused input. Control characters and the
// bidirectional overrides are shown as escapes, so that none moves the cursor, clears a line or
// reorders the text on the operator's terminal; line feeds and tabs stay, and JSON output is JSON's own.
import { describe, expect, it } from 'vitest';
import { terminalSafe } from '../../main/cli/command.js';

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

// The operator command contract (main/console): every command has an HTTP route and every route a
// command whose fields include the route's path fields; inputs are strict (unknown fields, missing
// ones, wrong types, patterns and bounds refused, naming the field, never echoing a value); secrets are
// named; and every gated operator command the quorum names is a command of the contract.
import { describe, expect, it } from 'vitest';
import { ROUTES } from '../../main/api/admin/routes.js';
import { gatedActions } from '../../main/ceremony/quorum.js';
import { COMMANDS, isCommandName, parseCommandInput, secretFields, type CommandName } from '../../main/console/index.js';
import { KmsError } from '../../main/common/errors.js';

const names = Object.keys(COMMANDS) as CommandName[];

function refusal(name: CommandName, input: unknown): KmsError {
  try {
    parseCommandInput(name, input);
  } catch (e) {
    expect(e).toBeInstanceOf(KmsError);
    expect((e as KmsError).code).toBe('Validation');
    return e as KmsError;
  }
  throw new Error(`${name} took ${JSON.stringify(input)}`);
}

describe('the command table', () => {
  it('every route names a command that takes its path fields; the CLI\'s commands each have one', () => {
    // Every command is also POST /admin/v1/commands/NAME (the console's transport); the REST routes are the CLI's.
    const routed = new Set(ROUTES.map((r) => r.command));
    const cliFamilies = ['operators.', 'quorum.', 'approvals.', 'credentials.', 'hsms.', 'xks.'];
    expect(names.filter((n) => cliFamilies.some((f) => n.startsWith(f)) && !routed.has(n))).toEqual([]);
    for (const route of ROUTES) {
      expect(isCommandName(route.command)).toBe(true);
      const fields = Object.keys(COMMANDS[route.command].fields);
      for (const p of route.params ?? []) expect(fields, `${route.method} ${route.path}`).toContain(p);
      if (route.bodyAs) expect(fields).toContain(route.bodyAs);
    }
    // One route per method and path.
    const keys = ROUTES.map((r) => `${r.method} ${r.path.source}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('every gated operator command of the quorum is a command of the contract', () => {
    const commands = gatedActions().filter((a) => a.startsWith('kura:') && a.includes('.')).map((a) => a.slice('kura:'.length));
    expect(commands.length).toBeGreaterThanOrEqual(12);
    for (const c of commands) expect(isCommandName(c), c).toBe(true);
    expect(isCommandName('hsms.format')).toBe(false);
    expect(isCommandName('toString')).toBe(false);
  });

  it('names the secret fields: never shown, signed over or audited', () => {
    expect(secretFields('session.login')).toEqual(['passphrase']);
    expect(secretFields('operators.passphrase')).toEqual(['passphrase', 'currentPassphrase']);
    expect(secretFields('hsms.add')).toEqual(['pin']);
    expect(secretFields('xks.stores.create')).toEqual(['pin']);
    expect(secretFields('credentials.create')).toEqual([]);
  });
});

describe('parseCommandInput', () => {
  it('takes a valid input as it is, with optional fields left out', () => {
    const input = { modulePath: '/usr/lib/softhsm/libsofthsm2.so', tokenLabel: 'kura' };
    expect(parseCommandInput('hsms.add', input)).toEqual(input);
    expect(parseCommandInput('quorum.set', { actionClass: 'key-import', threshold: 2, operators: ['a', 'b'] })).toEqual({ actionClass: 'key-import', threshold: 2, operators: ['a', 'b'] });
    expect(parseCommandInput('xks.keys.create', { storeId: 's1', usage: [] })).toEqual({ storeId: 's1', usage: [] });
    expect(parseCommandInput('operators.list', {})).toEqual({});
  });

  it('refuses what is not an object, naming the command', () => {
    for (const bad of [null, [], 'x', 3]) expect(refusal('operators.list', bad).message).toBe('Listing operators takes a JSON object.');
  });

  it('refuses an unknown field, naming it and what the command takes', () => {
    expect(refusal('operators.list', { x: 1 }).message).toBe('Listing operators takes no fields, not "x".');
    expect(refusal('approvals.cancel', { id: 'apr-000000000000000000000000', by: 'x' }).message).toBe('Cancelling an approval request takes "id", "operator", not "by".');
  });

  it('refuses a missing field, a wrong type, a pattern and a bound, naming the field', () => {
    expect(refusal('hsms.add', { modulePath: '/m' }).message).toBe('An HSM needs "tokenLabel": the token\'s label.');
    expect(refusal('hsms.add', { modulePath: '/m', tokenLabel: 7 }).message).toBe('An HSM: "tokenLabel" is the token\'s label.');
    expect(refusal('hsms.add', { modulePath: '/m', tokenLabel: '' }).message).toMatch(/"tokenLabel"/);
    expect(refusal('hsms.add', { modulePath: '/m', tokenLabel: 'x'.repeat(33) }).message).toMatch(/"tokenLabel"/);
    expect(refusal('hsms.test', { hsmId: 'cluster-1' }).message).toMatch(/"hsmId" is an HSM ID/);
    expect(refusal('quorum.set', { actionClass: 'backup', threshold: 1.5, operators: ['a'] }).message).toMatch(/"threshold"/);
    expect(refusal('quorum.set', { actionClass: 'backup', threshold: 0, operators: ['a'] }).message).toMatch(/"threshold"/);
    // The refusal says the bounds, not only what the field is.
    expect(refusal('quorum.set', { actionClass: 'backup', threshold: 500, operators: ['a'] }).message).toMatch(/"threshold" is how many operators approve \(a whole number\) \(1 to 100\)\./);
    expect(refusal('quorum.set', { actionClass: 'backup', threshold: 1, operators: 'a' }).message).toMatch(/"operators"/);
    expect(refusal('quorum.set', { actionClass: 'backup', threshold: 1, operators: ['a', 2] }).message).toMatch(/"operators"/);
    expect(refusal('quorum.set', { actionClass: 'backup', threshold: 1, operators: ['a'], expiryMinutes: 10_081 }).message).toMatch(/"expiryMinutes"/);
    expect(refusal('xks.keys.create', { storeId: 's', usage: ['ENCRYPT', 'ENCRYPT'] }).message).toMatch(/"usage"/);
    expect(refusal('xks.keys.create', { storeId: 's', usage: ['SIGN'] }).message).toMatch(/"usage"/);
    expect(refusal('credentials.create', { accountId: '12345' }).message).toMatch(/12 digits/);
    expect(refusal('approvals.submit', { id: 'apr-000000000000000000000000', signature: 'not base64!' }).message).toMatch(/"signature"/);
    expect(refusal('approvals.show', { id: 'x' }).message).toMatch(/"id" is an approval request ID/);
    expect(refusal('audit.verifyTranscript', { transcript: [] }).message).toMatch(/"transcript"/);
  });

  it('names a length only when the length is what failed', () => {
    expect(refusal('hsms.add', { modulePath: '/m', tokenLabel: 'x'.repeat(33) }).message).toBe('An HSM: "tokenLabel" is the token\'s label (at most 32 characters).');
    expect(refusal('credentials.create', { accountId: '123' }).message).toBe('A credential: "accountId" is an AWS account ID (12 digits).');
    expect(refusal('credentials.create', { accountId: '1'.repeat(13) }).message).toBe('A credential: "accountId" is an AWS account ID (12 digits) (at most 12 characters).');
    expect(refusal('operators.add', { name: 'bad name!', publicKey: 'PEM' }).message).toBe('A new operator: "name" is an operator name.');
    expect(refusal('operators.add', { name: 'a'.repeat(65), publicKey: 'PEM' }).message).toMatch(/"name" is an operator name \(at most 64 characters\)\.$/);
    const operators = (list: unknown) => refusal('quorum.set', { actionClass: 'backup', threshold: 1, operators: list }).message;
    expect(operators(['a', 2])).toMatch(/"operators" is a list of operator names\.$/);
    expect(operators('a')).toMatch(/"operators" is a list of operator names\.$/);
    expect(operators(['a', ''])).toMatch(/"operators" is a list of operator names \(at most 100, each of 1 to 64 characters\)\.$/);
    expect(operators(['x'.repeat(65)])).toMatch(/\(at most 100, each of 1 to 64 characters\)\.$/);
    expect(operators(Array.from({ length: 101 }, (_, i) => `o${i}`))).toMatch(/\(at most 100, each of 1 to 64 characters\)\.$/);
  });

  it('never echoes a value, a secret least of all', () => {
    const secret = 'correct horse battery staple '.repeat(50);
    const e = refusal('session.login', { operator: 'alice', passphrase: secret });
    expect(e.message).not.toContain('correct horse');
    const pin = refusal('hsms.add', { modulePath: '/m', tokenLabel: 't', pin: 'p'.repeat(300) });
    expect(pin.message).not.toContain('ppp');
  });
});

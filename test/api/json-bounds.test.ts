// The pass before JSON.parse (main/api/json-bounds.ts): bodies past the value and depth bounds are
// refused as SerializationException; commas, brackets and braces inside strings (escaped quotes
// included) do not count; ordinary requests pass.
import { describe, expect, it } from 'vitest';
import { checkJsonBounds, MAX_JSON_DEPTH, MAX_JSON_VALUES } from '../../main/api/json-bounds.js';
import { kmsError } from '../support/domain.js';

const check = (text: string) => () => checkJsonBounds(Buffer.from(text, 'utf8'));

describe('checkJsonBounds', () => {
  it('lets ordinary requests through', () => {
    expect(check(JSON.stringify({ KeyId: 'alias/a', Plaintext: 'AAAA', EncryptionContext: { a: 'b', c: 'd' } }))).not.toThrow();
    expect(check(JSON.stringify({ TagKeys: Array.from({ length: 1000 }, (_, i) => `k${i}`) }))).not.toThrow();
  });

  it('refuses a body with more values than the bound', async () => {
    const pairs = Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`k${i}`, 'v']));
    const e = await kmsError(check(JSON.stringify({ KeyId: 'k', Plaintext: 'AA', EncryptionContext: pairs })));
    expect(e.code).toBe('Serialization');
    expect(e.message).toContain(String(MAX_JSON_VALUES));
  });

  it('refuses nesting deeper than the bound, and accepts it at the bound', async () => {
    expect(check(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`)).not.toThrow();
    const e = await kmsError(check(`{"a":${'['.repeat(100_000)}`));
    expect(e.code).toBe('Serialization');
    expect(e.message).toMatch(/deeper/);
  });

  it('counts depth as nesting, not as brackets seen: closed arrays give their level back', () => {
    // 200 sibling empty arrays never nest deeper than 2, though 201 brackets open in all.
    expect(check(JSON.stringify({ a: Array(200).fill([]) }))).not.toThrow();
  });

  it('ends a string at a quote after an even run of backslashes, so nesting after it is still bounded', async () => {
    // "x\\" is x and one escaped backslash: its closing quote ends the string. Read as escaped, the
    // scan would swallow the text up to the next quote and lose track of the deep array after it.
    const e = await kmsError(check(`{"a":"x\\\\","b":${'['.repeat(100)}${']'.repeat(100)}}`));
    expect(e.code).toBe('Serialization');
    expect(e.message).toMatch(/deeper/);
  });

  it('does not count separators inside strings, escaped quotes included', () => {
    const noisy = `${',[{'.repeat(30_000)}\\"${',[{'.repeat(30_000)}`;
    expect(check(JSON.stringify({ Description: noisy }))).not.toThrow();
  });
});

// The approval statement (main/ceremony/statement.ts): its exact bytes, what it binds, and the fields it
// refuses. Signatures over it by openssl are in operator-keys.test.ts; its example in
// docs/canonical-json.md is checked by canonical.test.ts.
import { describe, expect, it } from 'vitest';
import { parametersDigest } from '../../main/ceremony/canonical.js';
import { approvalStatement, APPROVAL_STATEMENT_KIND, type ApprovalStatementFields } from '../../main/ceremony/statement.js';

const fields: ApprovalStatementFields = {
  requestId: 'apr-1',
  digest: parametersDigest({ KeyId: 'k', PendingWindowInDays: 7 }),
  action: 'ScheduleKeyDeletion',
  expiresAt: Date.UTC(2026, 0, 2, 3, 4, 5, 6),
  applianceId: 'kura-a',
};

describe('approvalStatement', () => {
  it('is the canonical JSON of the statement, in canonical member order, and one newline', () => {
    expect(approvalStatement(fields).toString('utf8')).toBe(
      `{"action":"ScheduleKeyDeletion","applianceId":"kura-a","expiresAt":"2026-01-02T03:04:05.006Z","kura":"${APPROVAL_STATEMENT_KIND}",` +
        `"parametersDigest":"${fields.digest}","requestId":"apr-1"}\n`,
    );
    expect(APPROVAL_STATEMENT_KIND).toBe('approval/v1');
  });

  it('differs for every field it binds', () => {
    const base = approvalStatement(fields);
    const variants: Partial<ApprovalStatementFields>[] = [
      { requestId: 'apr-2' },
      { digest: parametersDigest({ KeyId: 'k', PendingWindowInDays: 8 }) },
      { action: 'DeleteImportedKeyMaterial' },
      { expiresAt: fields.expiresAt + 1 },
      { applianceId: 'kura-b' },
    ];
    for (const change of variants) expect(approvalStatement({ ...fields, ...change }).equals(base), JSON.stringify(change)).toBe(false);
  });

  it('writes non-ASCII identifiers as UTF-8, escaping only what JSON escapes', () => {
    expect(approvalStatement({ ...fields, applianceId: 'kura "é"' }).toString('utf8')).toContain('"applianceId":"kura \\"é\\""');
  });

  it('refuses fields that would make an ambiguous or unsignable statement', () => {
    const refused: [Partial<ApprovalStatementFields>, RegExp][] = [
      [{ requestId: '' }, /non-empty requestId/],
      [{ action: '' }, /non-empty action/],
      [{ applianceId: '' }, /non-empty applianceId/],
      [{ digest: fields.digest.toUpperCase() }, /64 lower-case hex digits/],
      [{ digest: fields.digest.slice(1) }, /64 lower-case hex digits/],
      [{ expiresAt: 1.5 }, /whole milliseconds/],
      [{ expiresAt: -1 }, /whole milliseconds/],
      [{ expiresAt: NaN }, /whole milliseconds/],
      [{ expiresAt: Date.UTC(10000, 0, 1) }, /up to year 9999/],
    ];
    for (const [change, message] of refused) expect(() => approvalStatement({ ...fields, ...change }), JSON.stringify(change)).toThrow(message);
    expect(approvalStatement({ ...fields, expiresAt: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }).toString()).toContain('"expiresAt":"9999-12-31T23:59:59.999Z"');
  });
});

// The approval statement: the bytes a custodian signs to approve one approval request, with their own
// key (main/ceremony/operator-keys.ts), at the appliance or offline. It names everything that makes an
// approval specific — the request, the action, the digest of its canonical parameters, the expiry and
// the appliance — so that a signature cannot be replayed against another request, changed parameters,
// a later expiry or another Kura. Its text is the canonical JSON (docs/canonical-json.md) of
//
//   {"kura":"approval/v1","requestId":…,"action":…,"parametersDigest":…,"expiresAt":"<ISO 8601 UTC>","applianceId":…}
//
// (members written in canonical order: action, applianceId, expiresAt, kura, parametersDigest,
// requestId) followed by one "\n". The newline is part of what is signed: `kura approvals export ID
// --out F` writes exactly these bytes, so the file ends as a text file should, `cat` shows it whole,
// and `openssl pkeyutl -sign -rawin -in F` / `openssl dgst -sha256 -sign key.pem F` sign the file as is.
import { kmsErrors } from '../common/errors.js';
import { canonicalJson } from './canonical.js';

/** The statement format's name and version; a new format gets a new version, never a changed meaning. */
export const APPROVAL_STATEMENT_KIND = 'approval/v1';

export interface ApprovalStatementFields {
  readonly requestId: string;
  /** The request's parameters digest: parametersDigest() of its canonical parameters, 64 hex digits. */
  readonly digest: string;
  readonly action: string;
  /** When the request expires, in milliseconds since the epoch; written as ISO 8601 UTC. */
  readonly expiresAt: number;
  readonly applianceId: string;
}

/** 9999-12-31T23:59:59.999Z: later instants have no four-digit-year ISO 8601 form. */
const LAST_ISO_INSTANT_MS = 253_402_300_799_999;

/** The exact bytes an operator signs to approve the request these fields describe. */
export function approvalStatement(fields: ApprovalStatementFields): Buffer {
  const { requestId, digest, action, expiresAt, applianceId } = fields;
  for (const [name, value] of [['requestId', requestId], ['action', action], ['applianceId', applianceId]] as const) {
    if (typeof value !== 'string' || value === '') throw kmsErrors.validation(`An approval statement needs a non-empty ${name}.`);
  }
  if (typeof digest !== 'string' || !/^[0-9a-f]{64}$/.test(digest)) {
    throw kmsErrors.validation('An approval statement needs the parameters digest as 64 lower-case hex digits (SHA-256).');
  }
  if (!Number.isSafeInteger(expiresAt) || expiresAt < 0 || expiresAt > LAST_ISO_INSTANT_MS) {
    throw kmsErrors.validation(`An approval statement needs its expiry as whole milliseconds since 1970 (up to year 9999), not ${expiresAt}.`);
  }
  const text = canonicalJson({
    kura: APPROVAL_STATEMENT_KIND,
    requestId,
    action,
    parametersDigest: digest,
    expiresAt: new Date(expiresAt).toISOString(),
    applianceId,
  });
  return Buffer.from(`${text}\n`, 'utf8');
}

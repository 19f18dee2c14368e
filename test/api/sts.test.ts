// The STS pieces that need no server: which requests on POST / are STS's, the UserId shapes (stable
// across partitions, one role ID per role, ACCOUNT:name for a federated user), and the
// error table (every KmsError code maps to an STS Query-protocol code).
import { describe, expect, it } from 'vitest';
import { KMS_ERROR_CODES } from '../../main/common/errors.js';
import { isStsRequest, STS_WIRE_ERRORS, userIdOf } from '../../main/api/sts/get-caller-identity.js';

const req = (headers: Record<string, string>, query = '', method = 'POST') => ({ method, path: '/', query, headers, body: Buffer.alloc(0) });
const auth = (service: string) => `AWS4-HMAC-SHA256 Credential=AKIAAAAAAAAAAAAAAAAA/20261205/us-east-1/${service}/aws4_request, SignedHeaders=host, Signature=00`;

describe('isStsRequest', () => {
  it('a form body or an sts scope without X-Amz-Target is STS', () => {
    expect(isStsRequest(req({ 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }))).toBe(true);
    expect(isStsRequest(req({ authorization: auth('sts') }))).toBe(true);
  });
  it('a GET with an Action in its query is STS (the Query protocol allows GET)', () => {
    expect(isStsRequest(req({}, 'Action=GetCallerIdentity&Version=2011-06-15', 'GET'))).toBe(true);
    expect(isStsRequest(req({}, 'Version=2011-06-15&Action=GetCallerIdentity', 'GET'))).toBe(true);
    expect(isStsRequest(req({}, 'NoAction=x', 'GET'))).toBe(false);
  });
  it('anything with X-Amz-Target, or a kms scope, is KMS', () => {
    expect(isStsRequest(req({ 'x-amz-target': 'TrentService.ListKeys', authorization: auth('sts') }))).toBe(false);
    expect(isStsRequest(req({ authorization: auth('kms') }))).toBe(false);
    expect(isStsRequest(req({}))).toBe(false);
  });
});

describe('userIdOf', () => {
  it('is the account for root, AIDA… for users, AROA…:session for assumed roles, stable per ARN', () => {
    expect(userIdOf('arn:aws:iam::111122223333:root', '111122223333')).toBe('111122223333');
    const user = userIdOf('arn:aws:iam::111122223333:user/app', '111122223333');
    expect(user).toMatch(/^AIDA[A-Z2-7]{17}$/);
    expect(userIdOf('arn:aws:iam::111122223333:user/app', '111122223333')).toBe(user);
    expect(userIdOf('arn:aws:iam::111122223333:user/other', '111122223333')).not.toBe(user);
    expect(userIdOf('arn:aws:sts::111122223333:assumed-role/r/sess', '111122223333')).toMatch(/^AROA[A-Z2-7]{17}:sess$/);
  });

  it('is the same for a principal in every partition; a role has one ID for all its sessions; a federated user is ACCOUNT:name', () => {
    const acct = '111122223333';
    const user = userIdOf('arn:aws:iam::111122223333:user/kura-dev', acct);
    for (const partition of ['aws-cn', 'aws-us-gov', 'aws-iso-b']) expect(userIdOf(`arn:${partition}:iam::111122223333:user/kura-dev`, acct), partition).toBe(user);
    // IAM user names are unique in the account whatever their path.
    expect(userIdOf('arn:aws:iam::111122223333:user/team/kura-dev', acct)).toBe(user);

    const [roleId, session] = userIdOf('arn:aws:sts::111122223333:assumed-role/MyRole/sess1', acct).split(':');
    expect(session).toBe('sess1');
    expect(userIdOf('arn:aws:sts::111122223333:assumed-role/MyRole/sess2', acct)).toBe(`${roleId}:sess2`);
    expect(userIdOf('arn:aws-cn:sts::111122223333:assumed-role/MyRole/sess1', acct)).toBe(`${roleId}:sess1`);
    expect(userIdOf('arn:aws:iam::111122223333:role/MyRole', acct)).toBe(roleId);
    expect(userIdOf('arn:aws:iam::111122223333:role/service/MyRole', acct)).toBe(roleId);
    expect(userIdOf('arn:aws:sts::111122223333:assumed-role/OtherRole/sess1', acct)).not.toBe(`${roleId}:sess1`);
    // A user and a role of the same name are different principals.
    expect(userIdOf('arn:aws:iam::111122223333:user/MyRole', acct).slice(4)).not.toBe(roleId!.slice(4));

    expect(userIdOf('arn:aws:sts::111122223333:federated-user/Bob', acct)).toBe('111122223333:Bob');
  });
});

describe('STS_WIRE_ERRORS', () => {
  it('maps every error code, with STS names for the authentication errors', () => {
    for (const c of KMS_ERROR_CODES) expect(STS_WIRE_ERRORS[c], c).toBeDefined();
    expect(STS_WIRE_ERRORS.InvalidSignature.code).toBe('SignatureDoesNotMatch');
    expect(STS_WIRE_ERRORS.UnrecognizedClient.code).toBe('InvalidClientTokenId');
    expect(STS_WIRE_ERRORS.Sealed.status).toBe(503);
  });
});

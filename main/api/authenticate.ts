// SigV4 authentication of a request to the loopback APIs (KMS and STS): the signature is verified
// (main/sigv4/verify.ts) and the credential it names is the one the request is served as — looked up,
// and its secret unsealed on a cache miss, once per request. The caller's principal is its credential's
// ARN in the partition of the Region the request was signed for, as STS names it and the audit records it.
import type { CredentialService, Identity } from '../auth/credentials.js';
import { KmsError } from '../common/errors.js';
import { principalInRegion } from '../common/regions.js';
import { verifySigV4, type SigV4Verified } from '../sigv4/verify.js';
import type { RawRequest } from './http.js';

export interface Authenticated {
  verified: SigV4Verified;
  identity: Identity;
  /** The credential's principal ARN in the signed Region's partition (`arn:aws-cn:…` in cn-north-1). */
  principal: string;
}

export async function authenticate(
  req: RawRequest,
  opts: { service: string; nowMs: number; credentials: CredentialService; allowedRegions?: ReadonlySet<string> },
): Promise<Authenticated> {
  let identity: Identity | undefined;
  const verified = await verifySigV4(req, {
    service: opts.service,
    nowMs: opts.nowMs,
    allowedRegions: opts.allowedRegions,
    lookupSecret: async (id) => {
      const found = await opts.credentials.lookup(id);
      identity = found?.identity;
      return found?.secret;
    },
  });
  if (!identity) throw new KmsError('UnrecognizedClient', 'The security token included in the request is invalid.');
  return { verified, identity, principal: principalInRegion(identity.principalArn, verified.region) };
}

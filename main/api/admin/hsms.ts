// /admin/v1/hsms: the HSMs registered with the appliance (`kura hsm add|list|test|remove`, and later the
// console). Registering checks that the module loads and the token is there, and gives the HSM an ID of
// a CloudHSM cluster ID's shape, which CreateCustomKeyStore takes as CloudHsmClusterId. No PIN passes
// here to be kept: a custom key store is given its token's PIN (KeyStorePassword) through the KMS API;
// `pin` only checks that a login works when the HSM is added.
// Registering and removing are changes, audited through the KMS domain's unit of work.
import { KmsError } from '../../common/errors.js';
import type { HsmRecord, HsmTokenInfo, Kms } from '../../kms/index.js';
import type { JsonResponse } from '../http.js';

export const hsmJson = (h: HsmRecord) => ({
  hsmId: h.id,
  modulePath: h.modulePath,
  tokenLabel: h.tokenLabel,
  ...(h.libraryParameters !== null ? { libraryParameters: h.libraryParameters } : {}),
  manufacturer: h.manufacturer,
  model: h.model,
  serialNumber: h.serialNumber,
  createdAt: new Date(h.createdAt).toISOString(),
});

const tokenJson = (t: HsmTokenInfo) => ({ ...t });

const OPERATOR = 'kura:admin';

/** Answers an /hsms route, or undefined when the route is not one of them. */
export async function handleHsmRoute(
  kms: Kms,
  route: string,
  body: () => Record<string, unknown>,
  json: (status: number, body: unknown) => JsonResponse,
): Promise<JsonResponse | undefined> {
  if (route === 'GET /hsms') return json(200, { hsms: (await kms.listHsms()).map(hsmJson) });
  if (route === 'POST /hsms') {
    const b = body();
    const modulePath = b.modulePath;
    const tokenLabel = b.tokenLabel;
    const libraryParameters = b.libraryParameters;
    const pin = b.pin;
    if (
      typeof modulePath !== 'string' ||
      typeof tokenLabel !== 'string' ||
      (libraryParameters !== undefined && typeof libraryParameters !== 'string') ||
      (pin !== undefined && typeof pin !== 'string')
    ) {
      throw new KmsError('Validation', 'An HSM needs "modulePath" and "tokenLabel" (strings); "libraryParameters" only for NSS softokn; "pin" (a string) only to check a login.');
    }
    const { hsm, token } = await kms.registerHsm(
      { operator: OPERATOR, operation: 'RegisterHsm' },
      { modulePath, tokenLabel, ...(libraryParameters !== undefined ? { libraryParameters } : {}) },
      pin,
    );
    return json(200, { ...hsmJson(hsm), token: tokenJson(token) });
  }
  const test = /^POST \/hsms\/(cluster-[2-7a-zA-Z]{11,16})\/test$/.exec(route);
  if (test) return json(200, { hsmId: test[1], token: tokenJson(await kms.testHsm(test[1]!)) });
  const remove = /^DELETE \/hsms\/(cluster-[2-7a-zA-Z]{11,16})$/.exec(route);
  if (remove) {
    await kms.removeHsm({ operator: OPERATOR, operation: 'RemoveHsm' }, remove[1]!);
    return json(200, { removed: remove[1] });
  }
  return undefined;
}

// GetHealthStatus (XKS Proxy API v1.0.3, "GetHealthStatus"): the proxy's own description (a fleet of
// one Kura) and the backend's deep check of each key manager behind the store (ACTIVE, DEGRADED or
// UNAVAILABLE; one to ten of them). The backend runs and caches the deep check (at most a minute old,
// as the spec allows), so this route answers within KMS's 250 ms.
import { decodeRequestMetadata } from './decode.js';
import { unwrap, XksError } from './errors.js';
import type { XksBackend } from './backend.js';
import type { GetHealthStatusResponse, RequestMetadata } from './wire.js';

export const XKS_PROXY_VENDOR = 'Kura';
const MAX_EKMS = 10;

export function decodeGetHealthStatus(body: Record<string, unknown>): { requestMetadata: RequestMetadata } {
  return { requestMetadata: decodeRequestMetadata(body, 'GetHealthStatus') };
}

export async function getHealthStatus(ctx: { backend: XksBackend; storeId: string; proxyModel: string }): Promise<GetHealthStatusResponse> {
  const report = unwrap(await ctx.backend.health(ctx.storeId));
  const n = report.ekmFleetDetails.length;
  if (n < 1 || n > MAX_EKMS) throw new XksError('InternalException', `The key store reported ${n} key managers; the API allows one to ten.`);
  return {
    xksProxyFleetSize: 1,
    xksProxyVendor: XKS_PROXY_VENDOR,
    xksProxyModel: ctx.proxyModel,
    ekmVendor: report.ekmVendor,
    ekmFleetDetails: report.ekmFleetDetails.map(({ id, model, healthStatus }) => ({ id, model, healthStatus })),
  };
}

// The members of a request that the AWS KMS API model marks sensitive (a custom key store's
// KeyStorePassword, an XKS proxy credential, a plaintext …), taken out of a request's JSON and put back.
// An approval request keeps what approvers sign and see — its parameters, shown in the console and
// its transcript — with each sensitive value replaced by SEALED_PLACEHOLDER; the values themselves
// are sealed beside it (main/ceremony/quorum.ts) and put back only when the approved call runs.
import type { SensitiveValue } from '../../../kms/index.js';
import { isJsonObject, loadKmsModel, type Shape } from './validate.js';

/** What an approval request's parameters show where a sensitive value was. */
export const SEALED_PLACEHOLDER = '(sensitive: sealed beside the request)';


function shapeOf(name: string): Shape | undefined {
  const shapes = loadKmsModel().shapes;
  return Object.hasOwn(shapes, name) ? shapes[name] : undefined;
}

/** Copies `value` (of shape `shapeName`) with its sensitive members replaced, collecting them in `out`. */
function redact(value: unknown, shapeName: string, path: (string | number)[], out: SensitiveValue[]): unknown {
  const shape = shapeOf(shapeName);
  if (!shape) return value;
  if (shape.sensitive) {
    out.push({ path, value });
    return SEALED_PLACEHOLDER;
  }
  if (shape.type === 'structure' && isJsonObject(value)) {
    const copy: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const member = shape.members && Object.hasOwn(shape.members, k) ? shape.members[k] : undefined;
      copy[k] = member ? redact(v, member.shape, [...path, k], out) : v;
    }
    return copy;
  }
  if (shape.type === 'list' && Array.isArray(value) && shape.member) {
    const element = shape.member.shape;
    return value.map((v, i) => redact(v, element, [...path, i], out));
  }
  return value;
}

/** A request's JSON without its sensitive values, and those values. */
export function splitSensitive(operation: string, input: Readonly<Record<string, unknown>>): { open: Record<string, unknown>; secrets: SensitiveValue[] } {
  const ops = loadKmsModel().operations;
  const shape = Object.hasOwn(ops, operation) ? ops[operation]?.input?.shape : undefined;
  const secrets: SensitiveValue[] = [];
  const open = shape === undefined ? { ...input } : (redact(input, shape, [], secrets) as Record<string, unknown>);
  return { open, secrets };
}

/** The request's JSON with its sensitive values put back where they were taken from. */
export function withSensitive(open: Readonly<Record<string, unknown>>, secrets: readonly SensitiveValue[]): Record<string, unknown> {
  const whole = structuredClone(open) as Record<string, unknown>;
  for (const { path, value } of secrets) {
    let at: unknown = whole;
    for (const step of path.slice(0, -1)) at = (at as Record<string | number, unknown>)[step];
    (at as Record<string | number, unknown>)[path[path.length - 1]!] = value;
  }
  return whole;
}

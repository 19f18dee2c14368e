// The shape of one TrentService action handler: decoded, validated AWS input in; AWS output out. A
// handler maps the wire shape to one call of the KMS façade and back, and does nothing else: every
// check that can refuse a request happens behind the façade, which audits every call it serves.
import type { CallContext, EncryptionContext, Kms } from '../../kms/index.js';

export interface KmsHandlerDeps {
  kms: Kms;
}

export type KmsInput = Record<string, unknown>;
export type KmsOutput = Record<string, unknown>;
export type KmsHandler = (deps: KmsHandlerDeps, ctx: CallContext, input: KmsInput) => Promise<KmsOutput>;

export const str = (v: unknown): string | undefined => (v === undefined ? undefined : (v as string));
export const num = (v: unknown): number | undefined => (v === undefined ? undefined : (v as number));
export const bool = (v: unknown): boolean | undefined => (v === undefined ? undefined : (v as boolean));
export const ctxOf = (v: unknown): EncryptionContext | undefined => v as EncryptionContext | undefined;

// The shape of one TrentService action handler: decoded, validated AWS input in; AWS output out.
import type { CallContext, EncryptionContext, KeyService } from '../../kms/key-service.js';
import type { ImportService } from '../../kms/import-service.js';
import type { KeyUseService } from '../../kms/key-use.js';

export interface KmsHandlerDeps {
  keys: KeyService;
  keyUse: KeyUseService;
  imports: ImportService;
}

export type KmsInput = Record<string, unknown>;
export type KmsOutput = Record<string, unknown>;
export type KmsHandler = (deps: KmsHandlerDeps, ctx: CallContext, input: KmsInput) => Promise<KmsOutput>;

export const str = (v: unknown): string | undefined => (v === undefined ? undefined : (v as string));
export const num = (v: unknown): number | undefined => (v === undefined ? undefined : (v as number));
export const bool = (v: unknown): boolean | undefined => (v === undefined ? undefined : (v as boolean));
export const ctxOf = (v: unknown): EncryptionContext | undefined => v as EncryptionContext | undefined;

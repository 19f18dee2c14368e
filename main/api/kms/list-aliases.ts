// TrentService.ListAliases
import { num, str, type KmsHandler } from './handler.js';

export const listAliases: KmsHandler = async ({ kms }, ctx, input) => {
  const page = await kms.listAliases(ctx, str(input.KeyId), num(input.Limit), str(input.Marker));
  return {
    Aliases: page.items.map((a) => ({
      AliasName: a.aliasName,
      AliasArn: kms.aliasArnOf(a),
      TargetKeyId: a.keyId,
      CreationDate: new Date(a.createdAt),
      LastUpdatedDate: new Date(a.updatedAt),
    })),
    NextMarker: page.nextMarker,
    Truncated: page.nextMarker !== undefined,
  };
};

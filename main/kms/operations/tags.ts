// Tags with AWS KMS semantics (API reference: TagResource, UntagResource, ListResourceTags): at most 50
// per key, keys beginning with aws: reserved, not on a key pending deletion.
import { KmsError } from '../../common/errors.js';
import type { TagRecord } from '../../store/index.js';
import type { CallContext } from '../key-directory.js';
import { requireNotPendingDeletion } from '../model/index.js';
import { checkTags, decodeMarker, encodeMarker, MAX_TAGS, paginate, type OperationDeps, type Page } from './common.js';

export class TagOperations {
  constructor(private readonly deps: OperationDeps) {}

  tagResource(ctx: CallContext, keyRef: string, tags: TagRecord[]): Promise<void> {
    const { directory, keys } = this.deps;
    return directory.run(ctx, {
      kind: 'change',
      keyRef,
      check: () => void checkTags(tags),
      prepare: async () => ({ keys: [await directory.resolve(ctx, keyRef, false)] }),
      apply: async ({ tx, lookup }) => {
        const k = await directory.resolve(ctx, keyRef, false, lookup);
        requireNotPendingDeletion(k);
        for (const t of tags) await keys.putTag(tx, k.keyId, t);
        // Counted inside the transaction, with the tags the key already had.
        if ((await keys.countTags(k.keyId, tx)) > MAX_TAGS) throw new KmsError('Tag', `A KMS key can have at most ${MAX_TAGS} tags.`);
        return { result: undefined, keyId: k.keyId, details: { tags: tags.length } };
      },
    });
  }

  untagResource(ctx: CallContext, keyRef: string, tagKeys: string[]): Promise<void> {
    const { directory, keys } = this.deps;
    return directory.run(ctx, {
      kind: 'change',
      keyRef,
      prepare: async () => ({ keys: [await directory.resolve(ctx, keyRef, false)] }),
      apply: async ({ tx, lookup }) => {
        const k = await directory.resolve(ctx, keyRef, false, lookup);
        requireNotPendingDeletion(k);
        for (const key of tagKeys) await keys.deleteTag(tx, k.keyId, key);
        return { result: undefined, keyId: k.keyId, details: { tags: tagKeys.length } };
      },
    });
  }

  listResourceTags(ctx: CallContext, keyRef: string, limit = 50, marker?: string): Promise<Page<TagRecord>> {
    const { directory, keys } = this.deps;
    return directory.run(ctx, {
      kind: 'read',
      keyRef,
      prepare: async () => {
        const k = await directory.resolve(ctx, keyRef, false);
        return { keys: [k], after: decodeMarker('tags', marker) ?? '' };
      },
      run: async ({ keys: [k], after }) => {
        // The marker is applied where the tags are ordered: see listTags.
        return paginate(await keys.listTags(k!.keyId, after), limit, (t) => encodeMarker('tags', t.tagKey));
      },
    });
  }
}

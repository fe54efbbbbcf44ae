import { KEY_ID, MARKER, limit } from "../protocol/validate.js";
import { LIST_ALIASES_DEFAULT_LIMIT, LIST_ALIASES_MAX_LIMIT } from "../kms/limits.js";
import { defineOperation } from "./operation.js";
import { SKIP } from "../vault/types.js";
import { callerWith, catalog, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId?: string; Limit?: number; Marker?: string }

export const listAliases = defineOperation<Input>({
  name: "ListAliases",
  readOnly: true,
  auditMembers: ["KeyId", "Limit", "Marker"],
  iamOnly: true,
  crossAccount: false,
  schema: { KeyId: KEY_ID, Limit: limit(LIST_ALIASES_MAX_LIMIT), Marker: MARKER },
  async run(ctx, input) {
    let keyId: string | undefined;
    if (input.KeyId !== undefined) {
      const key = await resolveKey(ctx, input.KeyId, false);
      fromVault(await vault(ctx, key.keyId).describe(callerWith(ctx, { skip: SKIP.existence })), key.arn);
      keyId = key.keyId;
    }
    const prefix = `arn:aws:kms:${ctx.region}:${ctx.caller.accountId}:`;
    const page = fromVault(await catalog(ctx).listAliases(prefix, input.Limit ?? LIST_ALIASES_DEFAULT_LIMIT, input.Marker, keyId));
    return { Aliases: page.items, Truncated: page.nextMarker !== undefined, ...(page.nextMarker ? { NextMarker: page.nextMarker } : {}) };
  },
});

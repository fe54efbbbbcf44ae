import { KEY_ID } from "../protocol/validate.js";
import { defineOperation } from "./operation.js";
import { audited, fromVault, resolveKey, vault } from "./shared.js";

interface Input { KeyId: string }

/**
 * https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyLastUsage.html: a key id or ARN
 * (no alias), not across accounts. The vault answers from memory (src/vault/last-usage.ts).
 */
export const getKeyLastUsage = defineOperation<Input>({
  name: "GetKeyLastUsage",
  readOnly: true,
  auditMembers: ["KeyId"],
  iamOnly: false,
  crossAccount: false,
  schema: { KeyId: { ...KEY_ID, required: true } },
  async run(ctx, input) {
    const key = await resolveKey(ctx, input.KeyId, false);
    const r = fromVault(await vault(ctx, key.keyId).keyLastUsage(audited(ctx)), key.arn, ctx);
    return {
      KeyId: r.keyId,
      ...(r.usage
        ? { KeyLastUsage: { Operation: r.usage.operation, Timestamp: r.usage.at / 1000, CloudTrailEventId: r.usage.eventId, KmsRequestId: r.usage.requestId } }
        : {}),
      TrackingStartDate: r.trackingStart / 1000,
      KeyCreationDate: r.creationDate / 1000,
    };
  },
});

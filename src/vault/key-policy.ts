// The default key policy (reference §6.1): the account root may do everything, which
// delegates access to the account's identity policies. GetKeyPolicy returns this text as is.
export const defaultKeyPolicy = (account: string): string => `{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::${account}:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`;

/** Service quota on key policy size (reference §4.1). */
export const MAX_KEY_POLICY_BYTES = 32 * 1024;

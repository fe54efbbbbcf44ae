// The default key policy (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html): the account root may do everything, which
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

/** The service that the audit trail acts as when it uses keys (kms:ViaService, service principal). */
export const AUDIT_SERVICE = "cloudtrail";
export const auditViaService = (region: string): string => `${AUDIT_SERVICE}.${region}.amazonaws.com`;
export const AUDIT_SERVICE_PRINCIPAL = `${AUDIT_SERVICE}.amazonaws.com`;

/**
 * The policy of a service-managed ("AWS managed") key: any principal of the account may use it
 * through the service only, and the account may read its metadata. Nobody may change, disable,
 * delete or rotate it on demand.
 */
export const serviceManagedKeyPolicy = (account: string, region: string): string => JSON.stringify({
  Version: "2012-10-17",
  Id: `auto-${AUDIT_SERVICE}`,
  Statement: [
    {
      Sid: `Allow access through ${AUDIT_SERVICE} for all principals in the account that are authorized to use it`,
      Effect: "Allow",
      Principal: { AWS: "*" },
      Action: ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey"],
      Resource: "*",
      Condition: { StringEquals: { "kms:ViaService": auditViaService(region), "kms:CallerAccount": account } },
    },
    {
      Sid: "Allow direct access to key metadata to the account",
      Effect: "Allow",
      Principal: { AWS: `arn:aws:iam::${account}:root` },
      Action: ["kms:Describe*", "kms:Get*", "kms:List*"],
      Resource: "*",
    },
  ],
}, null, 2);

// boto3 (Debian's python3-boto3) against EdgeKMS: botocore signs without x-amz-content-sha256
// and adds its invocation headers after signing.
import { describe, expect, inject, it } from "vitest";
import { spawnSync } from "node:child_process";
import { remember } from "./secrets.js";
import { E2E } from "./client.js";

const SCRIPT = `
import base64, json, os, boto3, botocore
kms = boto3.client("kms", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1",
                   aws_access_key_id=os.environ["AKID"], aws_secret_access_key=os.environ["SECRET"])
key = kms.create_key(Description="from boto3")["KeyMetadata"]
kms.create_alias(AliasName="alias/boto3-" + key["KeyId"][:8], TargetKeyId=key["KeyId"])
ct = kms.encrypt(KeyId="alias/boto3-" + key["KeyId"][:8], Plaintext=b"boto3 secret", EncryptionContext={"lang": "python"})
pt = kms.decrypt(CiphertextBlob=ct["CiphertextBlob"], EncryptionContext={"lang": "python"})
dk = kms.generate_data_key(KeyId=key["Arn"], KeySpec="AES_256")
err = None
try:
    kms.decrypt(CiphertextBlob=ct["CiphertextBlob"])
except kms.exceptions.InvalidCiphertextException:
    err = "InvalidCiphertextException"
keys = [k["KeyId"] for page in kms.get_paginator("list_keys").paginate(PaginationConfig={"PageSize": 2}) for k in page["Keys"]]
print(json.dumps({"arn": key["Arn"], "keyId": ct["KeyId"], "plaintext": pt["Plaintext"].decode(), "dataKeyLen": len(dk["Plaintext"]),
                  "dataKey": base64.b64encode(dk["Plaintext"]).decode(), "error": err, "listed": key["KeyId"] in keys}))
`;

describe("boto3 against EdgeKMS", () => {
  it("create-key, alias, encrypt, decrypt, generate-data-key, paginated list-keys, modelled errors", () => {
    remember("boto3 secret");
    const r = spawnSync("/usr/bin/python3", ["-c", SCRIPT], {
      encoding: "utf8",
      env: { PATH: process.env.PATH, HOME: "/tmp", ENDPOINT: inject("kmsEndpoint"), AKID: E2E.accessKeyId, SECRET: E2E.secretAccessKey, AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null" },
    });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    remember(Buffer.from(out.dataKey, "base64"));
    expect(out).toMatchObject({ keyId: out.arn, plaintext: "boto3 secret", dataKeyLen: 32, error: "InvalidCiphertextException", listed: true });
  });
});

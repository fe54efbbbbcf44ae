import { inject } from "vitest";
import { KMSClient } from "@aws-sdk/client-kms";

export const E2E = {
  account: "444455556666",
  accessKeyId: "AKIAEDGEKMSE2ETEST01",
  secretAccessKey: "e2e-test-secret-access-key-not-for-production-use",
};

export function kmsClient(region = "us-east-1"): KMSClient {
  return new KMSClient({
    endpoint: inject("kmsEndpoint"),
    region,
    credentials: { accessKeyId: E2E.accessKeyId, secretAccessKey: E2E.secretAccessKey },
    maxAttempts: 1,
  });
}

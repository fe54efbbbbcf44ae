import { inject } from "vitest";
import { KMSClient } from "@aws-sdk/client-kms";
import { tmpdir } from "node:os";
import { remember } from "./secrets.js";

export const E2E = {
  account: "444455556666",
  accessKeyId: "AKIAEDGEKMSE2ETEST01",
  secretAccessKey: "e2e-test-secret-access-key-not-for-production-use",
};

/**
 * A KMS client (the operator's, or the given credentials') that remembers every plaintext it
 * sends or receives (see secrets.ts): every client of the suite is made here, so the audit
 * scan (test/e2e-final) looks for all of them.
 */
export function kmsClient(region = "us-east-1", credentials: { accessKeyId: string; secretAccessKey: string } = E2E): KMSClient {
  // A secret access key the suite was given (by create-account or create-access-key) must not reach any record either.
  if (credentials !== E2E) remember(credentials.secretAccessKey);
  const client = new KMSClient({
    endpoint: inject("kmsEndpoint"),
    region,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    maxAttempts: 1,
  });
  return rememberSecrets(client);
}

/** The environment the real AWS CLI runs in: the suite's credentials, no config or credentials files, no pager. */
export const awsCliEnv = (): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: tmpdir(),
  AWS_ACCESS_KEY_ID: E2E.accessKeyId,
  AWS_SECRET_ACCESS_KEY: E2E.secretAccessKey,
  AWS_DEFAULT_REGION: "us-east-1",
  AWS_CONFIG_FILE: "/dev/null",
  AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
  AWS_PAGER: "",
});

/** Makes an SDK client remember every plaintext it sends or receives (for the audit scan). */
export function rememberSecrets<C extends { middlewareStack: KMSClient["middlewareStack"] }>(client: C): C {
  client.middlewareStack.add(
    (next) => async (args) => {
      const input = args.input as { Plaintext?: Uint8Array };
      if (input.Plaintext) remember(input.Plaintext);
      const result = await next(args);
      const output = result.output as { Plaintext?: Uint8Array };
      if (output.Plaintext) remember(output.Plaintext);
      return result;
    },
    { step: "initialize", name: "rememberSecrets" },
  );
  return client;
}

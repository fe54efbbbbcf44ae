// npm run smoke -- URL [--key-id K] [--region R]: a smoke test of a deployed EdgeKMS with the AWS
// JS SDK (@aws-sdk/client-kms), as a client would use it. Credentials and region come from the
// SDK's usual places (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, AWS_PROFILE and ~/.aws, AWS_REGION;
// region us-east-1 if none). It makes a key of its own (or uses --key-id's), encrypts and decrypts
// with an encryption context, generates a data key, checks that a wrong context and a wrong
// secret are refused, and schedules its own key's deletion (7 days, the least AWS allows), so a
// smoke test leaves nothing usable behind. It prints a table and exits 1 if any check failed.
// docs/deploy.md; test/e2e/smoke.test.ts runs it against the test server.
import { parseArgs } from "node:util";
import { randomBytes } from "node:crypto";
import {
  KMSClient, CreateKeyCommand, DescribeKeyCommand, EncryptCommand, DecryptCommand, GenerateDataKeyCommand, ScheduleKeyDeletionCommand, ListKeysCommand,
} from "@aws-sdk/client-kms";

/** The least pending window ScheduleKeyDeletion takes (https://docs.aws.amazon.com/kms/latest/APIReference/API_ScheduleKeyDeletion.html). */
const DELETION_WINDOW_DAYS = 7;
/** One try per call: a smoke test reports what the server answers, not what retries hide. */
const MAX_ATTEMPTS = 1;
/** A server that does not answer fails its check rather than hang the test. */
const REQUEST_TIMEOUT_MS = 15_000;

const USAGE = `usage: npm run smoke -- URL [--key-id KEY] [--region REGION]
  URL        the EdgeKMS endpoint, e.g. https://kms.example.com
  --key-id   use this symmetric key instead of creating (and scheduling the deletion of) one
  --region   the region to call (default: AWS_REGION, AWS_DEFAULT_REGION, else us-east-1)
credentials: the AWS SDK's usual ones (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE)`;

const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

export async function smoke({ endpoint, region, keyId, credentials, log = console.log }) {
  const options = { endpoint, region, maxAttempts: MAX_ATTEMPTS, requestHandler: { requestTimeout: REQUEST_TIMEOUT_MS, connectionTimeout: REQUEST_TIMEOUT_MS }, ...(credentials ? { credentials } : {}) };
  const kms = new KMSClient(options);
  const results = [];
  const state = {};
  /** One check: `body` throws (or returns a string) to fail, returns a detail to pass; `needs` names the state it needs. */
  async function check(name, needs, body) {
    const missing = needs.filter((n) => state[n] === undefined);
    if (missing.length) return results.push({ name, ok: false, detail: `skipped: needs ${missing.join(", ")} from an earlier check` });
    try {
      results.push({ name, ok: true, detail: (await body()) ?? "" });
    } catch (e) {
      results.push({ name, ok: false, detail: `${e?.name ?? "Error"}: ${e?.message ?? String(e)}`.slice(0, 300) });
    }
  }
  const expectError = async (promise, names) => {
    try {
      await promise;
    } catch (e) {
      if (names.includes(e.name)) return `refused: ${e.name}`;
      throw new Error(`expected ${names.join(" or ")}, got ${e.name}: ${e.message}`);
    }
    throw new Error(`expected ${names.join(" or ")}, but the call succeeded`);
  };

  await check("ListKeys (credentials accepted)", [], async () => {
    await kms.send(new ListKeysCommand({ Limit: 1 }));
    state.signedIn = true;
    return "credentials accepted (ListKeys)";
  });
  if (keyId) {
    state.keyId = keyId;
  } else {
    await check("CreateKey", ["signedIn"], async () => {
      const r = await kms.send(new CreateKeyCommand({
        Description: `edgekms smoke test ${new Date().toISOString()} (scheduled for deletion by the test)`,
        Tags: [{ TagKey: "edgekms-smoke-test", TagValue: "true" }],
      }));
      state.keyId = r.KeyMetadata.KeyId;
      state.created = true;
      return r.KeyMetadata.Arn;
    });
  }
  await check("DescribeKey", ["keyId"], async () => {
    const m = (await kms.send(new DescribeKeyCommand({ KeyId: state.keyId }))).KeyMetadata;
    if (m.KeyState !== "Enabled" || m.KeyUsage !== "ENCRYPT_DECRYPT") throw new Error(`key is ${m.KeyState}, ${m.KeyUsage}: a smoke test needs an Enabled ENCRYPT_DECRYPT key`);
    state.arn = m.Arn;
    return `${m.KeyState} ${m.KeySpec}`;
  });
  const context = { purpose: "edgekms-smoke-test", run: randomBytes(6).toString("hex") };
  const plaintext = randomBytes(32);
  await check("Encrypt with an encryption context", ["arn"], async () => {
    const r = await kms.send(new EncryptCommand({ KeyId: state.keyId, Plaintext: plaintext, EncryptionContext: context }));
    if (r.KeyId !== state.arn) throw new Error(`KeyId ${r.KeyId} is not the key's ARN ${state.arn}`);
    state.blob = r.CiphertextBlob;
    return `${r.CiphertextBlob.length}-byte ciphertext`;
  });
  await check("Decrypt with the same context", ["blob"], async () => {
    const r = await kms.send(new DecryptCommand({ CiphertextBlob: state.blob, EncryptionContext: context }));
    if (!equal([...r.Plaintext], [...plaintext])) throw new Error("the plaintext differs from what was encrypted");
    return "same plaintext";
  });
  await check("Decrypt with another context is refused", ["blob"], () =>
    expectError(kms.send(new DecryptCommand({ CiphertextBlob: state.blob, EncryptionContext: { ...context, run: "another" } })), ["InvalidCiphertextException"]));
  await check("GenerateDataKey, and Decrypt of its copy", ["arn"], async () => {
    const r = await kms.send(new GenerateDataKeyCommand({ KeyId: state.keyId, KeySpec: "AES_256", EncryptionContext: context }));
    if (r.Plaintext.length !== 32) throw new Error(`a ${r.Plaintext.length}-byte data key, not 32`);
    const back = await kms.send(new DecryptCommand({ CiphertextBlob: r.CiphertextBlob, EncryptionContext: context }));
    if (!equal([...back.Plaintext], [...r.Plaintext])) throw new Error("the decrypted data key differs");
    return "32-byte data key, decrypts to the same";
  });
  await check("A wrong secret access key is refused", ["signedIn"], async () => {
    const own = await kms.config.credentials();
    const wrong = new KMSClient({ ...options, credentials: { accessKeyId: own.accessKeyId, secretAccessKey: `${own.secretAccessKey}x` } });
    return expectError(wrong.send(new ListKeysCommand({ Limit: 1 })), ["InvalidSignatureException"]);
  });
  if (state.created) {
    await check(`ScheduleKeyDeletion of the test's key (${DELETION_WINDOW_DAYS} days)`, ["keyId"], async () => {
      const r = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: state.keyId, PendingWindowInDays: DELETION_WINDOW_DAYS }));
      if (r.KeyState !== "PendingDeletion") throw new Error(`key state ${r.KeyState}, not PendingDeletion`);
      return `deletion scheduled for ${r.DeletionDate.toISOString()}`;
    });
  }

  const width = Math.max(...results.map((r) => r.name.length));
  log(`EdgeKMS smoke test of ${endpoint} (${region})`);
  for (const r of results) log(`${r.ok ? "PASS" : "FAIL"}  ${r.name.padEnd(width)}  ${r.detail}`);
  const failed = results.filter((r) => !r.ok).length;
  log(failed ? `${failed} of ${results.length} check(s) FAILED` : `all ${results.length} checks passed`);
  return failed === 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { "key-id": { type: "string" }, region: { type: "string" }, help: { type: "boolean" } } });
  if (values.help || positionals.length !== 1 || !/^https?:\/\//.test(positionals[0])) {
    console.error(USAGE);
    process.exit(values.help ? 0 : 2);
  }
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
  const passed = await smoke({ endpoint: positionals[0].replace(/\/$/, ""), region, keyId: values["key-id"] });
  process.exit(passed ? 0 : 1);
}

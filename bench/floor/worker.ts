// The floor of an audited Encrypt in this runtime (npm run bench:floor): a Worker that does
// none of EdgeKMS's work, only the round trips and commits its design needs. Each route adds
// one step to the one before it; bench/floor.ts compares them with the bare route.
import { DurableObject } from "cloudflare:workers";

interface Env {
  VAULT: DurableObjectNamespace<Vault>;
  LOG: DurableObjectNamespace<Log>;
}

const CALL = JSON.parse(`{"keys":["method","args"],"kinds":"ka","cols":["encrypt",{"keys":["0","1","2","3","4"],"kinds":"obkkk","cols":[{"keys":["account","keyAccount","principalArn","principalType","policies","context","authz","audit"],"kinds":"kkkkkkko","cols":["111122223333","111122223333","arn:aws:iam::111122223333:root","Root",[],{"aws:sourceip":"127.0.0.1","aws:principalarn":"arn:aws:iam::111122223333:root","aws:principalaccount":"111122223333","aws:currenttime":"2026-12-03T07:20:57.069Z","aws:securetransport":"true","kms:calleraccount":"111122223333","kms:encryptionalgorithm":"SYMMETRIC_DEFAULT"},{"check":{"action":"kms:Encrypt","iamOnly":false,"crossAccount":true,"usesEncryptionContext":true}},{"keys":["eventVersion","userIdentity","eventTime","eventSource","eventName","awsRegion","sourceIPAddress","userAgent","requestParameters","requestID","eventID","readOnly","eventType","managementEvent","recipientAccountId","eventCategory","additionalEventData"],"kinds":"kkkkkkkkkkvkkkkko","cols":["1.08",{"type":"Root","principalId":"111122223333","arn":"arn:aws:iam::111122223333:root","accountId":"111122223333","accessKeyId":"AKIAEDGEKMSTEST00001"},"2026-12-03T07:20:57Z","kms.amazonaws.com","Encrypt","us-east-1","127.0.0.1","",{"keyId":"20829910-2aa6-405d-81da-f7a6e4be1a49","encryptionAlgorithm":"SYMMETRIC_DEFAULT"},"eb4bbed7-6670-4797-bae3-0738ed3d66f6",["01a23ac7-1bef-7000-94be-84bc2339e32a","01a23ac7-1bf1-7001-97cc-8d9a75ce72e2","01a23ac7-1bf1-7011-920b-ec2a8c2b48ca","01a23ac7-1bf1-7021-a0d7-e53ad3605e79","01a23ac7-1bf2-7007-96db-9470542348f5","01a23ac7-1bf2-7017-8918-7639bf4cf346","01a23ac7-1bf2-7027-a138-e3e5c20e7465"],true,"AwsApiCall",true,"111122223333","Management",{"keys":["batchOperation","batchIndex"],"kinds":"kv","cols":["BatchEncrypt",[0,16,32,48,64,80,96]]}]}]},[2,3,3,3,3,3,3],null,null,"SYMMETRIC_DEFAULT"]}]}`);
const REPLY = JSON.parse(`{"keys":["result","records","thrown"],"kinds":"okk","cols":[{"keys":["ok","value"],"kinds":"ko","cols":[true,{"keys":["blob","keyArn","keyMaterialId"],"kinds":"bkk","cols":[[52,53,53,53,53,53,53],"arn:aws:kms:us-east-1:111122223333:key/eeaeefc0-30ec-41ae-a8c5-e5dd8cb719b6","e0d61812f1da3b7617d6df4d86a8c6184f43631d7ce5957cc32b8f0e3e0794c6"]}]},1,null]}`);

/** Stands in for a key's vault: answers with a ciphertext-sized value. */
export class Vault extends DurableObject<Env> {
  async use(input: Uint8Array): Promise<{ blob: Uint8Array; keyArn: string }> {
    return { blob: input, keyArn: `arn:aws:kms:us-east-1:123456789012:key/${this.ctx.id.toString().slice(0, 36)}` };
  }

  /** A batch's entries for this key: one reply per entry and the entries' records as one row of JSON text. */
  async useMany(inputs: Uint8Array, entries: number, shared: string): Promise<{ blobs: Uint8Array; keyArn: string; records: string }> {
    return { blobs: inputs, keyArn: `arn:aws:kms:us-east-1:123456789012:key/${this.ctx.id.toString().slice(0, 36)}${shared.length}`, records: RECORD.repeat(entries) };
  }

  async useTable(call: { version: number; count: number; entries: unknown; bytes: Uint8Array }): Promise<{ version: number; outcomes: unknown; bytes: Uint8Array; records: { region: string; account: string; key: string; json: string }[] }> {
    return { version: 2, outcomes: REPLY, bytes: new Uint8Array(370), records: [{ region: "us-east-1", account: "111122223333", key: "k", json: RECORD.repeat(call.count) }] };
  }

  /** The same, and the request's record stored here: a commit of its own per request. */
  async useAndRecord(input: Uint8Array, record: string): Promise<{ blob: Uint8Array; keyArn: string }> {
    void this.ctx.storage.put(`r:${Date.now()}:${crypto.randomUUID()}`, record);
    return this.use(input);
  }
}

/** Stands in for the account's AuditLog. */
export class Log extends DurableObject<Env> {
  private lines: string[] = [];
  private batch: Promise<void> | undefined;

  async noop(): Promise<boolean> {
    return true;
  }

  /** Group commit as src/vault/group-commit.ts does it: one row per batch, after one timer. */
  append(record: string): Promise<void> {
    this.lines.push(record);
    this.batch ??= new Promise<void>((resolve) => setTimeout(resolve, 0)).then(() => {
      const lines = this.lines;
      this.lines = [];
      this.batch = undefined;
      return this.ctx.storage.put(`r:${Date.now()}:${crypto.randomUUID()}`, lines.join("\n"));
    });
    return this.batch;
  }
}

/** About the size of an Encrypt's CloudTrail record. */
const RECORD = JSON.stringify({ padding: "x".repeat(1200) });
const KEYS = 16;
/** What a batch's entries of one key share (caller, policies, most of the audit draft): sent once per vault call. */
const SHARED = "y".repeat(2000);
let next = 0;

/**
 * Vault calls shared across concurrent requests (an experiment: what fewer vault calls would
 * save): per key, one call in flight per isolate; the entries of requests that arrive meanwhile
 * go together in the next call, which the request that finds none in flight sends.
 */
const shared = new Map<number, { busy: boolean; waiting: { n: number; done: (r: { records: { json: string }[] }) => void; fail: (e: unknown) => void }[] }>();
function sharedCall(env: Env, k: number, n: number): Promise<{ records: { json: string }[] }> {
  let q = shared.get(k);
  if (!q) shared.set(k, (q = { busy: false, waiting: [] }));
  const queue = q;
  return new Promise((done, fail) => {
    queue.waiting.push({ n, done, fail });
    if (queue.busy) return;
    queue.busy = true;
    void (async () => {
      while (queue.waiting.length) {
        const group = queue.waiting;
        queue.waiting = [];
        const count = group.reduce((a, w) => a + w.n, 0);
        try {
          const r: { records: { json: string }[] } = await env.VAULT.get(env.VAULT.idFromName(`key-${k}`)).useTable({ version: 2, count, entries: CALL, bytes: new Uint8Array(20) });
          const texts = r.records[0].json;
          for (const w of group) w.done({ records: [{ json: texts.slice(0, RECORD.length * w.n) }] });
        } catch (e) {
          for (const w of group) w.fail(e);
        }
      }
      queue.busy = false;
    })();
  });
}

const answer = (r: { blob: Uint8Array; keyArn: string }) => ({ KeyId: r.keyArn, CiphertextBytes: r.blob.length });

function reply(value: unknown): Response {
  return new Response(JSON.stringify(value), {
    headers: { "Content-Type": "application/x-amz-json-1.1", "x-amzn-RequestId": crypto.randomUUID(), Date: new Date().toUTCString() },
  });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const path = new URL(request.url).pathname;
    if (request.method === "GET") return reply({ status: "ok" });
    const body = new Uint8Array(await request.arrayBuffer());
    if (path === "/read") return reply({ bytes: body.length });
    next = (next + 1) % KEYS;
    const vault = env.VAULT.get(env.VAULT.idFromName(`key-${next}`));
    const log = () => env.LOG.get(env.LOG.idFromName("log"));
    const input = body.subarray(0, 60);
    switch (path) {
      case "/vault":
        return reply(answer(await vault.use(input)));
      case "/vault+log": {
        const r = await vault.use(input);
        await log().noop();
        return reply(answer(r));
      }
      case "/vault+log-commit": {
        const r = await vault.use(input);
        await log().append(RECORD);
        return reply(answer(r));
      }
      case "/batch-1":
      case "/batch-16": {
        // 100 entries of 32 B, as one vault call (1 key) or one per key (16 keys), then one group commit of their records.
        const keys = path === "/batch-1" ? 1 : KEYS;
        const calls: Promise<{ blobs: Uint8Array; records: string }>[] = [];
        for (let k = 0; k < keys; k++) {
          const n = Math.floor(100 / keys) + (k < 100 % keys ? 1 : 0);
          calls.push(env.VAULT.get(env.VAULT.idFromName(`key-${k}`)).useMany(new Uint8Array(32 * n), n, SHARED));
        }
        const rs = await Promise.all(calls);
        await log().append(rs.map((r) => r.records).join("\n"));
        return reply(rs.map((r) => r.blobs.length));
      }
      case "/batch-16-table": {
        const calls: Promise<{ records: { json: string }[] }>[] = [];
        for (let k = 0; k < KEYS; k++) {
          const n = Math.floor(100 / KEYS) + (k < 100 % KEYS ? 1 : 0);
          calls.push(env.VAULT.get(env.VAULT.idFromName(`key-${k}`)).useTable({ version: 2, count: n, entries: CALL, bytes: new Uint8Array(20) }));
        }
        const rs = await Promise.all(calls);
        await log().append(rs.map((r) => r.records[0].json).join("\n"));
        return reply(rs.map((r) => r.records.length));
      }
      case "/batch-16-shared": {
        const calls: Promise<{ records: { json: string }[] }>[] = [];
        for (let k = 0; k < KEYS; k++) calls.push(sharedCall(env, k, Math.floor(100 / KEYS) + (k < 100 % KEYS ? 1 : 0)));
        const rs = await Promise.all(calls);
        await log().append(rs.map((r) => r.records[0].json).join("\n"));
        return reply(rs.map((r) => r.records.length));
      }
      case "/vault-commit":
        return reply(answer(await vault.useAndRecord(input, RECORD)));
      default:
        return new Response("no such route", { status: 404 });
    }
  },
};

// The floor of an audited Encrypt in this runtime (npm run bench:floor): a Worker that does
// none of EdgeKMS's work, only the round trips and commits its design needs. Each route adds
// one step to the one before it; bench/floor.ts compares them with the bare route.
import { DurableObject } from "cloudflare:workers";

interface Env {
  VAULT: DurableObjectNamespace<Vault>;
  LOG: DurableObjectNamespace<Log>;
}

/** Stands in for a key's vault: answers with a ciphertext-sized value. */
export class Vault extends DurableObject<Env> {
  async use(input: Uint8Array): Promise<{ blob: Uint8Array; keyArn: string }> {
    return { blob: input, keyArn: `arn:aws:kms:us-east-1:123456789012:key/${this.ctx.id.toString().slice(0, 36)}` };
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
let next = 0;

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
      case "/vault-commit":
        return reply(answer(await vault.useAndRecord(input, RECORD)));
      default:
        return new Response("no such route", { status: 404 });
    }
  },
};

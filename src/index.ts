// EdgeKMS Worker entry: the AWS KMS wire protocol on POST /, the operator's admin API on
// POST /admin, the web console on GET /console, and a health route.
import { Hono } from "hono";
import type { Env } from "./env.js";
import { handleKmsRequest, renderError } from "./protocol/handler.js";
import { handleAdminRequest } from "./admin/handler.js";
import { handleBatchRequest, isBatchRequest } from "./protocol/batch.js";
import { KmsError } from "./protocol/errors.js";
import { identityStore } from "./placement.js";
import { ROOT_SECRET_MISMATCH } from "./vault/root-key.js";
import { consoleAsset, consolePage } from "./console-route.js";

export { KeyVault } from "./vault/key-vault.js";
export { Catalog } from "./vault/catalog.js";
export { IdentityStore } from "./vault/identity-store.js";
export { AuditLog } from "./audit/audit-log.js";
export { AuditSigner } from "./audit/signer.js";
export { QuotaCounter } from "./quota/counter.js";

const app = new Hono<{ Bindings: Env }>();

app.get("/health", (c) => c.json({ service: "edgekms", status: "ok" }));
// Whether the stored state opens under the KMS_ROOT_SECRET in force (npm run serve checks it at start).
app.get("/health/state", async (c) => {
  const status = await identityStore(c.env).rootSecretStatus();
  return status === "ok" ? c.json({ service: "edgekms", status }) : c.json({ service: "edgekms", status, message: ROOT_SECRET_MISMATCH }, 503);
});
// The web console (docs/console.md): public pages whose every call is a signed API request.
app.get("/console", consolePage);
app.get("/console/:name", consoleAsset);
// EdgeKMSBatch.* targets are EdgeKMS's batch operations (docs/batch.md), on the same endpoint and protocol.
app.post("/", (c) => (isBatchRequest(c.req.raw) ? handleBatchRequest : handleKmsRequest)(c.req.raw, c.env, crypto.randomUUID()));
app.post("/admin", (c) => handleAdminRequest(c.req.raw, c.env, crypto.randomUUID()));
app.notFound(() => renderError(new KmsError("UnknownOperationException", "KMS requests are POST / with an X-Amz-Target header"), crypto.randomUUID()));
app.onError((err) => renderError(err, crypto.randomUUID()));

export default app;

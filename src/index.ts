// EdgeKMS Worker entry. The KMS wire protocol is served from here (route → auth →
// vault DO → crypto core → audit); this first version only reports its health.
import { Hono } from "hono";

const app = new Hono();

app.get("/health", (c) => c.json({ service: "edgekms", status: "ok" }));

export default app;

// The chaos driver's Worker (docs/chaos.md): a second Worker in the workerd of a chaos run
// (bench/chaos.ts, test/e2e/chaos.test.ts), bound to EdgeKMS's KeyVault and AuditLog classes.
// It has no route: only the Node side reaches it, through `mf.getWorker("chaos")`. It forwards a
// command to a named object's `chaos` method, which refuses unless EdgeKMS runs with
// CHAOS = "on". It runs no KMS operation. Plain JavaScript: it is given to miniflare as is.

/** The namespaces a command may name. */
const NAMESPACES = new Set(["KEY_VAULT", "AUDIT_LOG"]);

const json = (body, status = 200) => new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

export default {
  /** POST JSON { ns, name, cmd }: the object's answer, or the error its call ended with. */
  async fetch(request, env) {
    const q = await request.json();
    if (!NAMESPACES.has(q.ns)) return json({ error: `unknown namespace ${q.ns}` }, 400);
    try {
      const ns = env[q.ns];
      return json({ result: await ns.get(ns.idFromName(q.name)).chaos(q.cmd) });
    } catch (e) {
      // An abort resets the object under the call: the driver expects that error.
      return json({ error: e instanceof Error ? e.message : String(e) }, 500);
    }
  },
};

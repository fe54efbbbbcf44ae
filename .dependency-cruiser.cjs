// The import rules of the source tree (docs/architecture.md, "Layers"), checked by `npm test`
// (`npm run check:deps`). Layers point one way:
//   server pipeline (index.ts, protocol/handler.ts, admin/, auth/, audit/trail.ts)
//     → operations/ → authorizer (authz/) and vaults (vault/, audit/ Durable Objects)
//     → key types (vault/key-types/) → crypto core (crypto/, assembly/)
// with leaf modules any layer may use: policy/ (the policy language), kms/ (ids, limits),
// the wire helpers protocol/errors|codec|validate (not below operations), env.ts (types) and
// placement.ts (Durable Object names and stubs).
const VAULT = "^src/(vault|audit)/(?!trail\\.ts)";
module.exports = {
  forbidden: [
    {
      name: "no-cycles",
      comment: "src/ and assembly/ import acyclically (type-only imports, which vanish at build, excepted: env.ts names the Durable Object classes).",
      severity: "error",
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ["type-only"] } },
    },
    {
      name: "console-is-a-client",
      comment: "The console is a browser client of the public API: it imports its own modules, the signer and hono/jsx, nothing of the service.",
      severity: "error",
      from: { path: "^src/console/" },
      to: { path: "^src/", pathNot: "^src/(console/|cli/sign\\.ts$)" },
    },
    {
      name: "envelope-is-a-library",
      comment: "edgekms/envelope (docs/envelope.md) is a client library: it imports its own modules, the crypto core and the SigV4 signer, nothing of the service.",
      severity: "error",
      from: { path: "^src/envelope/" },
      to: { path: "^src/", pathNot: "^src/(envelope/|crypto/|cli/sign\\.ts$)" },
    },
    {
      name: "envelope-core-is-environment-neutral",
      comment: "Only the Node entry and its node:crypto and node:http providers (and the KMS client) may import Node built-ins; the rest runs in browsers and Workers.",
      severity: "error",
      from: { path: "^src/envelope/", pathNot: "^src/envelope/(node|aes-node|sign-node|fetch-node|kms-client)\\.ts$" },
      to: { dependencyTypes: ["core"] },
    },
    {
      name: "envelope-neutral-modules-skip-the-node-entries",
      comment: "The neutral modules never reach node:crypto through the Node entry points (src/crypto/node.ts reads the .wasm with node:fs).",
      severity: "error",
      from: { path: "^src/envelope/", pathNot: "^src/envelope/(node|aes-node|sign-node|fetch-node|kms-client)\\.ts$" },
      to: { path: "^src/(envelope/(node|aes-node|sign-node|fetch-node)|crypto/node)\\.ts$" },
    },
    {
      name: "nothing-imports-the-console",
      comment: "The Worker serves the console's built bundle (build/console-assets.js), never its source.",
      severity: "error",
      from: { path: "^src/", pathNot: "^src/console/" },
      to: { path: "^src/console/" },
    },
    {
      name: "crypto-core-knows-no-kms",
      comment: "The crypto core knows nothing of KMS.",
      severity: "error",
      from: { path: "^(src/crypto|assembly)/" },
      to: { path: "^src/", pathNot: "^src/crypto/" },
    },
    {
      name: "key-types-below-the-vault",
      comment: "A key type uses the crypto core and the byte formats, never the vault around it.",
      severity: "error",
      from: { path: "^src/vault/key-types/" },
      to: { path: "^src/", pathNot: "^src/(crypto/|vault/key-types/|vault/(blob|context|root-key)\\.ts$)" },
    },
    {
      name: "authorizer-is-pure",
      comment: "The authorizer decides from what it is given: the policy language only.",
      severity: "error",
      from: { path: "^src/authz/" },
      to: { path: "^src/", pathNot: "^src/(authz|policy)/" },
    },
    {
      name: "policy-language-is-a-leaf",
      severity: "error",
      from: { path: "^src/policy/" },
      to: { path: "^src/", pathNot: "^src/policy/" },
    },
    {
      name: "vault-below-protocol-and-operations",
      comment: "Vault code never imports Hono, the protocol layer, the operations or the server pipeline.",
      severity: "error",
      from: { path: VAULT },
      to: { path: "^(src/(protocol|operations|admin|auth/authenticate|index)|node_modules/hono)" },
    },
    {
      name: "operations-below-the-pipeline",
      severity: "error",
      from: { path: "^src/operations/" },
      to: { path: "^src/(index\\.ts|admin/|protocol/handler|audit/trail)" },
    },
    {
      name: "wire-helpers-are-leaves",
      comment: "Errors, codec, validation and SigV4 know no operation, vault or pipeline (the API's limits, named constants, they may).",
      severity: "error",
      from: { path: "^src/protocol/(errors|codec|validate|sigv4)\\.ts$" },
      to: { path: "^src/", pathNot: "^src/(protocol/(errors|codec|validate)\\.ts$|crypto/(compare|hex)|kms/limits\\.ts$)" },
    },
    {
      name: "quota-limiter-is-pure",
      comment: "The quota table and the limiter's logic do no I/O and import nothing (bench:quotas runs the limiter in Node as it is; docs/quotas.md).",
      severity: "error",
      from: { path: "^src/quota/(limiter|table)\\.ts$" },
      to: { path: ".*" },
    },
    {
      name: "quota-below-the-pipeline",
      comment: "Quota enforcement knows an operation by its facts (types only): never the pipeline, the admin API, the vaults or the operations' code.",
      severity: "error",
      from: { path: "^src/quota/" },
      to: { path: "^src/(index\\.ts|admin/|protocol/(handler|batch|op-context)|vault/|audit/|operations/)", dependencyTypesNot: ["type-only"] },
    },
    {
      name: "env-is-types-only",
      comment: "env.ts describes bindings; it imports only types.",
      severity: "error",
      from: { path: "^src/env\\.ts$" },
      to: { dependencyTypesNot: ["type-only"] },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    exclude: { path: "^(node_modules|dist|build)/" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    enhancedResolveOptions: { extensions: [".ts", ".js"] },
  },
};

// The part of node:zlib that Workers provide (nodejs_compat) and the audit trail uses: gzip at a
// chosen level for delivered log objects (src/audit/objects.ts). The Node.js tsconfig takes it
// from @types/node instead.
declare module "node:zlib" {
  export function gzipSync(data: Uint8Array, options?: { level?: number }): Uint8Array;
}

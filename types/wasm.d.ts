// wrangler and the Workers vitest plugin turn .wasm imports into compiled modules.
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}

// Node entry ("edgekms/crypto"): compiles the core that sits next to this file
// (dist/crypto/ after the build), or the one in build/ when run from source.
import { existsSync, readFileSync } from "node:fs";
import { setCoreModule } from "./api.js";

const beside = new URL("./edgekms-core.wasm", import.meta.url);
const built = new URL("../../build/edgekms-core.wasm", import.meta.url);
setCoreModule(new WebAssembly.Module(readFileSync(existsSync(beside) ? beside : built)));

export * from "./api.js";

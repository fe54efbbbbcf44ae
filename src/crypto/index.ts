// Workers entry: workerd compiles .wasm imports ahead of time (runtime compilation
// from bytes is not allowed there).
import coreModule from "../../build/edgekms-core.wasm";
import { setCoreModule } from "./api.js";

setCoreModule(coreModule);

export * from "./api.js";

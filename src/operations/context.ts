// What an operation knows about its request.
import type { Env, RegionPlacement } from "../env.js";
import type { Principal } from "../vault/identity-store.js";

export interface OpContext {
  env: Env;
  region: string;
  placement: RegionPlacement;
  caller: Principal;
  requestId: string;
  now: number;
}

// An authenticated caller: its principal and, for an IAM user, its inline identity policies.
import type { Principal } from "../vault/identity-store.js";

export type Caller = Principal & { policies?: string[] };
